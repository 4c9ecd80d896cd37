"""What the browser tests and the page and load benchmarks share: a `landdesk serve` on a free loopback port,
Debian's Chromium with the flags that keep it off the network, and the moment a Streamlit run has finished.

Never imported by the product itself; it lives in the package so that `tests/` and `bench/` use one copy.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Debian's Chromium (apt-get install chromium); Playwright never downloads a browser here.
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: Headless in a container, and no traffic beyond the loopback server under test.
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync")

#: True once Streamlit's status widget no longer says the script is running.
NOT_RUNNING_JS = ("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
                  " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer:
    """`landdesk serve --db DB --headless` on a free loopback port (extra arguments: `--no-auth` unless given),
    ready once the port accepts connections; a context manager that stops it on exit.

    The server's output goes to an unnamed temporary file (`output()` reads it), never to a pipe: nobody reads a
    pipe while the server runs, and once its 64 KiB buffer filled, the server's next log write blocked its event
    loop and every page load after it hung."""

    def __init__(self, db: str, *extra: str, startup_timeout: float = 60):
        self.db, self.extra, self.startup_timeout = db, extra or ("--no-auth",), startup_timeout
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self) -> "LocalServer":
        self._log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--db", self.db, "--port", str(self.port), "--headless",
             *self.extra], stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT)
        deadline = time.time() + self.startup_timeout
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"landdesk serve exited: {self.output()}") from None
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"landdesk serve did not start within {self.startup_timeout:.0f} s")

    def output(self) -> str:
        """What the server has written so far (stdout and stderr)."""
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "LocalServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class ScriptRuns:
    """Counts the Streamlit runs a Playwright page's sessions have finished, from the `script_finished` messages
    on its websockets: exact where watching the status widget is a guess (the widget appears only after a
    delay). Works with the sync and the async Playwright API; a new websocket (a reload) is followed too."""

    def __init__(self, page):
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        self._msg = ForwardMsg
        self._done = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR}
        self.count = 0
        self.started = 0      # runs begun (a `new_session` message opens each run)
        self.ended = 0        # runs ended in any way (finished, stopped early for a rerun, compile error)
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload) -> None:
        if not isinstance(payload, (bytes, bytearray)):
            return
        msg = self._msg()
        try:
            msg.ParseFromString(payload)
        except Exception:  # noqa: BLE001 - not a ForwardMsg: ignore
            return
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self.started += 1
        elif kind == "script_finished":
            self.ended += 1
            if msg.script_finished in self._done:
                self.count += 1

    @property
    def idle(self) -> bool:
        """At least one run finished and none is under way."""
        return self.count > 0 and self.ended >= self.started

    def wait(self, page, after: int, timeout_ms: float = 60_000) -> None:
        """Until more than `after` runs have finished (sync API)."""
        deadline = time.perf_counter() + timeout_ms / 1000
        while self.count <= after:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"no Streamlit run finished within {timeout_ms / 1000:.0f} s")
            page.wait_for_timeout(20)

    async def wait_async(self, page, after: int, timeout_ms: float = 60_000) -> None:
        """Until more than `after` runs have finished (async API)."""
        deadline = time.perf_counter() + timeout_ms / 1000
        while self.count <= after:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"no Streamlit run finished within {timeout_ms / 1000:.0f} s")
            await page.wait_for_timeout(20)


#: True once the page shows its final state: the title `arg` (the page's h1), no element left stale by a rerun, no
#: spinner or skeleton, the status widget not running, every Plotly chart drawn and every table's grid built.
SETTLED_JS = """title => {
  const main = document.querySelector('[data-testid=stMain]');
  if (!main) return false;
  const h1 = main.querySelector('[data-testid=stMainBlockContainer] h1');
  if (!h1 || !h1.textContent.trim().startsWith(title)) return false;
  if (document.querySelector('[data-stale=true]')) return false;
  if (main.querySelector('[data-testid=stSpinner], [data-testid=stSkeleton]')) return false;
  const status = document.querySelector('[data-testid=stStatusWidget]');
  if (status && status.innerText.includes('Running')) return false;
  const charts = [...main.querySelectorAll('[data-testid=stPlotlyChart]')];
  if (!charts.every(c => c.querySelector('.main-svg'))) return false;
  const grids = [...main.querySelectorAll('[data-testid=stDataFrame]')];
  return grids.every(g => g.querySelector('table, canvas'));
}"""
#: The page's visible text and drawn chart texts as one string, to see it stop changing.
SNAPSHOT_JS = """() => {
  const main = document.querySelector('[data-testid=stMain]');
  return main ? main.innerText.length + ':' + main.querySelectorAll('.js-plotly-plot text').length + ':'
               + main.querySelectorAll('[data-testid=stDataFrame] td').length : '';
}"""


def settle(page, runs: "ScriptRuns", title: str, timeout_ms: float = 300_000, quiet: int = 3) -> None:
    """Until a Streamlit page has settled: a run finished and none under way (the websocket's messages), the
    page's final state drawn (SETTLED_JS for `title`), and its content the same on `quiet` polls in a row 250 ms
    apart (charts and grids draw after the run). Waits as long as the machine needs, up to `timeout_ms`; it
    asserts nothing itself."""
    deadline = time.perf_counter() + timeout_ms / 1000
    last, same = None, 0
    while True:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the page {title!r} did not settle within {timeout_ms / 1000:.0f} s "
                               f"(runs started {runs.started}, ended {runs.ended}, finished {runs.count})")
        ready = runs.idle and page.evaluate(SETTLED_JS, title)
        snap = page.evaluate(SNAPSHOT_JS) if ready else None
        if ready and snap == last:
            same += 1
            if same >= quiet:
                return
        else:
            same = 0
        last = snap
        page.wait_for_timeout(250)
