#!/usr/bin/env bash
# Debian packages the briefing and the browser tests need: Chromium (kaleido charts, Playwright),
# Noto CJK fonts (charts, PDF), poppler-utils (PDF checks), PostgreSQL (store tests), graphviz (`dot`/`sfdp`: the
# process map laid out on the server, and its SVG/PNG downloads), PostGIS (geometry columns of a PostgreSQL
# store; tests/test_postgis.py).
# Installs only what is missing.
set -euo pipefail
need=()
command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
for pgdir in /usr/share/postgresql/*/; do      # PostGIS for each installed server version (Debian: -postgis-3)
  [ -d "$pgdir" ] || continue
  v=$(basename "$pgdir")
  [ -f "$pgdir/extension/postgis.control" ] || need+=("postgresql-$v-postgis-3")
done
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list 2>/dev/null | grep -ci "Noto Sans CJK" >/dev/null || need+=(fonts-noto-cjk)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
command -v dot >/dev/null 2>&1 || need+=(graphviz)
ldconfig -p 2>/dev/null | grep -c libpango-1.0 >/dev/null || need+=(libpango-1.0-0 libpangoft2-1.0-0)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: please install ${need[*]} (Debian/Ubuntu: apt-get install ${need[*]}); the tests that need them will skip" >&2
  exit 0
fi
echo "system-deps: installing ${need[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
