"""A throw-away PostgreSQL cluster from the machine's installed binaries (initdb, pg_ctl), for the tests when
LANDDESK_TEST_PG_URL is not set: a fresh data directory in a temp dir, a free loopback port, trust
authentication for the `landdesk` superuser, durability off (it is deleted afterwards), stopped and removed
at the end of the session (and at interpreter exit, should the session die first).

PostgreSQL refuses to run as root; as root the cluster runs as the `postgres` OS user (LANDDESK_PG_OS_USER),
which owns the temp dir. Test support only: not part of the product and not in the wheel.
"""
from __future__ import annotations

import atexit
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

USER = "landdesk"


class ClusterError(RuntimeError):
    pass


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path)) or (0,)


def find_bindir() -> Path | None:
    """The newest PostgreSQL bin directory holding initdb and pg_ctl: $LANDDESK_PG_BINDIR, Debian's
    /usr/lib/postgresql/*/bin, RHEL's /usr/pgsql-*/bin, `pg_config --bindir`, then the PATH."""
    candidates = [os.environ["LANDDESK_PG_BINDIR"]] if os.environ.get("LANDDESK_PG_BINDIR") else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    candidates += sorted(glob.glob("/usr/pgsql-*/bin"), key=_version_key, reverse=True)
    if shutil.which("pg_config"):
        try:
            candidates.append(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                                             check=True).stdout.strip())
        except (OSError, subprocess.CalledProcessError):
            pass
    if shutil.which("pg_ctl"):
        candidates.append(str(Path(shutil.which("pg_ctl")).resolve().parent))
    for c in candidates:
        if c and all(os.access(Path(c) / tool, os.X_OK) for tool in ("initdb", "pg_ctl")):
            return Path(c)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThrowAwayCluster:
    """`ThrowAwayCluster(bindir).start()` → `.url` (postgresql://landdesk@127.0.0.1:PORT/postgres); `.stop()`."""

    def __init__(self, bindir: Path):
        self.bindir = Path(bindir)
        self.dir: Path | None = None
        self.port: int | None = None
        self.url: str | None = None
        self._as: dict = {}

    @property
    def data(self) -> Path:
        return self.dir / "data"

    def _run(self, *args: str, timeout: float = 120) -> None:
        try:
            subprocess.run([str(self.bindir / args[0]), *args[1:]], cwd=self.dir, capture_output=True, text=True,
                           check=True, timeout=timeout, **self._as)
        except subprocess.CalledProcessError as exc:
            log = self.dir / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
            raise ClusterError(f"{args[0]} failed ({exc.returncode}): {exc.stderr.strip() or exc.stdout.strip()}"
                               + (f"\nserver log:\n{tail}" if tail else "")) from None
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ClusterError(f"{args[0]}: {exc}") from None

    def start(self) -> "ThrowAwayCluster":
        base = None
        if os.geteuid() == 0:       # PostgreSQL will not run as root: run it as the postgres OS user
            name = os.environ.get("LANDDESK_PG_OS_USER", "postgres")
            try:
                pw = pwd.getpwnam(name)
            except KeyError:
                raise ClusterError(f"running as root and there is no {name!r} OS user to run PostgreSQL as "
                                   "(set LANDDESK_PG_OS_USER, or LANDDESK_TEST_PG_URL)") from None
            self._as = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": [],
                        "env": dict(os.environ, HOME=pw.pw_dir, USER=name, LOGNAME=name)}
            base = os.environ.get("LANDDESK_PG_TMPDIR", "/tmp")   # a dir the postgres user can traverse
        self.dir = Path(tempfile.mkdtemp(prefix="landdesk-pg-", dir=base))
        if self._as:
            os.chown(self.dir, self._as["user"], self._as["group"])
        atexit.register(self.stop)
        self._run("initdb", "-D", str(self.data), "-U", USER, "--auth=trust", "-E", "UTF8", "--locale=C",
                  "--no-sync")
        for _attempt in range(3):             # the free port may be taken between the probe and the bind
            self.port = _free_port()
            opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off "
                    "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
            try:
                self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-o", opts,
                          "-w", "-t", "60", "start")
                break
            except ClusterError:
                if _attempt == 2:
                    raise
        self.url = f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"
        return self

    def stop(self) -> None:
        if self.dir is None:
            return
        if (self.data / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop", timeout=60)
            except ClusterError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None
