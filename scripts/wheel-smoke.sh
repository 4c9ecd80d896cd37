#!/usr/bin/env bash
# Build LandDesk's wheel, install it NON-editable into a fresh virtualenv and smoke-test it from outside the
# repository: `landdesk --version`, `landdesk demo --no-serve`, `landdesk serve` (development and public
# modes) answering /_stcore/health, and every page rendered without an exception — in Debian's headless
# Chromium when it and the repository's dev venv (Playwright) are there, else through Streamlit's AppTest
# from the installed app path (WHEEL_SMOKE_APPTEST=1: both).
#
# usage: scripts/wheel-smoke.sh   (PYTHON=python3.11 chooses the interpreter; KEEP=1 keeps the temp dir;
#        LANDDESK_WHEELHOUSE=DIR moves the dependency wheel cache, default ~/.cache/landdesk/wheelhouse)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python3}
DEV_PY=${DEV_PYTHON:-$REPO/.venv/bin/python}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/landdesk-wheel.XXXXXX")
WHEELHOUSE=${LANDDESK_WHEELHOUSE:-${XDG_CACHE_HOME:-$HOME/.cache}/landdesk/wheelhouse}
PIDS=()
T0=$SECONDS

say()  { printf 'wheel-smoke [%3ds]: %s\n' "$((SECONDS - T0))" "$*"; }
fail() { printf '\nwheel-smoke: FAILED: %s\n' "$*" >&2; exit 1; }
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ -n "${KEEP:-}" ]]; then echo "wheel-smoke: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# 1. the wheel, built from the sdist (so the sdist is complete too), into the temp dir
BUILDER=$PY
"$DEV_PY" -c 'import build' 2>/dev/null && BUILDER=$DEV_PY
if "$BUILDER" -c 'import build' 2>/dev/null; then
  "$BUILDER" -m build --outdir "$WORK/dist" "$REPO" >"$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log"; fail "python -m build"; }
else
  "$PY" -m pip wheel --no-deps --wheel-dir "$WORK/dist" "$REPO" >"$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log"; fail "pip wheel"; }
fi
WHEEL=$(ls "$WORK"/dist/landdesk-*.whl 2>/dev/null | head -1)
[[ -n "$WHEEL" ]] || fail "no wheel in $WORK/dist"
say "built $(basename "$WHEEL")"

# 2. what is in it: the product, the page scripts, the sample county; never test support
"$PY" - "$WHEEL" "$REPO" <<'PYEOF' || fail "the wheel's contents (above)"
import sys, zipfile, pathlib
names = zipfile.ZipFile(sys.argv[1]).namelist()
repo = pathlib.Path(sys.argv[2])
top = {n.split("/")[0] for n in names}
problems = [f"{t}/ is in the wheel" for t in ("devtools", "tests", "bench", "pages", "scripts") if t in top]
pages = sorted(p.name for p in (repo / "pages").glob("*.py"))
shipped = sorted(n.split("/")[-1] for n in names if n.startswith("dashboard/pages/") and n.endswith(".py"))
if shipped != pages:
    problems.append(f"dashboard/pages/ holds {shipped}, pages/ holds {pages}")
for f in ["sample_data/sources.yaml", "etl/migrations/env.py", "dashboard/app.py", "api/app.py",
          "etl/migrations/versions/0008_api_tokens.py"] + [
        "sample_data/" + p.relative_to(repo / "sample_data").as_posix()
        for p in (repo / "sample_data").rglob("*") if p.is_file() and p.parent.name in ("exports", "mappings", "real")]:
    if f not in names:
        problems.append(f"{f} is missing")
if problems:
    sys.exit("\n".join(problems))
print(f"  {len(names)} files; tops: {' '.join(sorted(top))}")
PYEOF

# 3. a fresh virtualenv, the wheel installed non-editable. The dependencies come from a wheel cache filled
# from the package index on the first run (or when the dependencies change): resolving against the index
# takes most of a minute, and no byte-compiling halves the install time.
"$PY" -m venv "$WORK/venv"
install_cached() {
  "$WORK/venv/bin/pip" install --quiet --no-compile --no-index --find-links "$WHEELHOUSE" "$WHEEL" >>"$WORK/install.log" 2>&1
}
mkdir -p "$WHEELHOUSE"
if ! install_cached; then
  say "filling the wheel cache $WHEELHOUSE from the package index (first run, or new dependencies)"
  # The repository venv's pip (upgraded by `make setup`, which has just resolved the same dependencies and
  # holds them in pip's cache) fills it; the fresh venv's bundled pip is the fallback. A registry that fails
  # once (seen in CI: "from versions: none") gets two more tries.
  downloaded=
  for attempt in 1 2 3; do
    for downloader in "$DEV_PY -m pip" "$WORK/venv/bin/pip"; do
      [[ $downloader == "$DEV_PY -m pip" && ! -x $DEV_PY ]] && continue
      echo "== attempt $attempt: $downloader download" >>"$WORK/install.log"
      if $downloader download --quiet --dest "$WHEELHOUSE" "$WHEEL" >>"$WORK/install.log" 2>&1; then
        downloaded=1; break 2
      fi
    done
    say "pip download failed (attempt $attempt of 3); retrying in $((attempt * 10)) s"
    sleep $((attempt * 10))
  done
  [[ -n $downloaded ]] || { grep -v 'is ignored' "$WORK/install.log" | tail -30; fail "pip download (the wheel's dependencies)"; }
  rm -f "$WHEELHOUSE"/landdesk-*.whl
  # Dependencies published only as source (jieba) become wheels here, so that the offline install below
  # needs no build backend (setuptools) in the cache.
  for sdist in "$WHEELHOUSE"/*.tar.gz "$WHEELHOUSE"/*.zip; do
    [[ -e $sdist ]] || continue
    builder_pip="$WORK/venv/bin/pip"; [[ -x $DEV_PY ]] && builder_pip="$DEV_PY -m pip"
    $builder_pip wheel --quiet --no-deps --wheel-dir "$WHEELHOUSE" "$sdist" >>"$WORK/install.log" 2>&1 \
      || { grep -v 'is ignored' "$WORK/install.log" | tail -30; fail "pip wheel $(basename "$sdist")"; }
    rm -f "$sdist"
  done
  install_cached || { grep -v 'is ignored' "$WORK/install.log" | tail -30; fail "pip install $(basename "$WHEEL")"; }
fi
"$WORK/venv/bin/pip" check >/dev/null || fail "pip check: $("$WORK/venv/bin/pip" check)"
say "installed into a fresh venv"
BIN=$WORK/venv/bin
mkdir -p "$WORK/run" && cd "$WORK/run"       # outside the repository: nothing may come from a checkout

# 4. the command line
VERSION=$("$BIN/landdesk" --version) || fail "landdesk --version"
say "$VERSION"
DB="sqlite:///$WORK/run/store.db"
"$BIN/landdesk" demo --no-serve --db "$DB" >"$WORK/demo.log" 2>&1 || { cat "$WORK/demo.log"; fail "landdesk demo --no-serve"; }
grep -q "loaded targets" "$WORK/demo.log" || { cat "$WORK/demo.log"; fail "the demo did not load the sample county"; }
say "demo store built ($(grep -c '^batch .* loaded' "$WORK/demo.log") batches loaded)"
APP=$("$BIN/python" -c 'from landdesk.resources import SERVER_PATH; print(SERVER_PATH)')   # `landdesk serve` runs the ASGI app (dashboard/server.py) of the installed wheel
[[ "$APP" == "$WORK/venv/"* ]] || fail "the app resolves to $APP, not into the wheel's venv"

# 5. landdesk serve (development mode and public mode), each on a free loopback port, started together
start_serve() {   # start_serve NAME FLAG: sets PORT_<NAME>, PID_<NAME>
  local port
  port=$(free_port)
  "$BIN/landdesk" serve "$2" --headless --host 127.0.0.1 --port "$port" --db "$DB" >"$WORK/serve-$1.log" 2>&1 &
  PIDS+=("$!")
  printf -v "PID_$1" '%s' "$!"
  printf -v "PORT_$1" '%s' "$port"
}
wait_healthy() {  # wait_healthy NAME FLAG: sets URL_<NAME>
  local pid_var="PID_$1" port_var="PORT_$1" i
  local pid=${!pid_var} port=${!port_var}
  for i in $(seq 1 120); do
    if curl -sf "http://127.0.0.1:$port/_stcore/health" >/dev/null 2>&1; then
      grep -q "$APP" "/proc/$pid/cmdline" 2>/dev/null || fail "serve $2 runs $(tr '\0' ' ' <"/proc/$pid/cmdline"), not the wheel's app"
      printf -v "URL_$1" 'http://127.0.0.1:%s' "$port"
      say "landdesk serve $2 healthy on port $port"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$WORK/serve-$1.log"; fail "landdesk serve $2 exited"; }
    sleep 0.5
  done
  cat "$WORK/serve-$1.log"; fail "landdesk serve $2: no /_stcore/health within 60 s"
}
start_serve dev --no-auth
start_serve public --public
wait_healthy dev --no-auth
wait_healthy public --public
INDEX=$(curl -sf "$URL_dev/") || fail "GET $URL_dev/ failed"
[[ "$INDEX" == *"<title>"* ]] || fail "GET / did not return the app's HTML"

# 6. every page renders
cp "$REPO/scripts/wheel_smoke_pages.py" "$REPO/scripts/wheel_smoke_browser.py" "$WORK/"
BROWSER=
if [[ -x /usr/bin/chromium || -n "$(command -v chromium)" ]] && "$DEV_PY" -c 'import playwright' 2>/dev/null; then
  BROWSER=1
elif [[ "${CI:-}" == "true" ]]; then
  fail "CI=true but no chromium or no Playwright in $DEV_PY (make setup; scripts/system-deps.sh)"
fi
if [[ -n "$BROWSER" ]]; then
  say "every page in headless Chromium (server: the wheel's landdesk serve)"
  (cd "$WORK/run" && "$DEV_PY" "$REPO/scripts/wheel_smoke_browser.py" "$URL_dev" "$URL_public") \
    || fail "a page failed in the browser (above; server logs in $WORK/serve-*.log, KEEP=1 keeps them)"
fi
if [[ -z "$BROWSER" || -n "${WHEEL_SMOKE_APPTEST:-}" ]]; then
  say "every page through AppTest from the installed app ($APP)"
  "$BIN/python" "$WORK/wheel_smoke_pages.py" "$DB" || fail "a page failed under AppTest (above)"
fi
say "OK: the wheel installs, builds the demo store, serves and renders every page from $WORK/run"
