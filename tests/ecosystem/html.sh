#!/usr/bin/env bash
# The HTML audit page in a real browser: headless Chromium (Debian's `chromium`, installed
# by .ci/run) loads `chaff tag --html` output with no console errors, and the rendered DOM
# holds exactly the kept and dropped lines `chaff tag --json` reports. A screenshot is kept
# as a test artefact (target/ecosystem/audit.png).
#   CHAFF=target/release/chaff bash tests/ecosystem/html.sh
set -euo pipefail
. "$(dirname "$0")/common.sh"
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$CHROMIUM" ]; then
  echo "FAIL: chromium is not installed (.ci/run installs Debian's chromium)"; exit 1
fi
art=$root/target/ecosystem
mkdir -p "$art"
pages=("$SHARED/seed/page.txt" "$SHARED"/eval/dev/pages/0000[0-9].txt)
"$CHAFF" -q tag --html "$art/audit.html" "${pages[@]}"
"$CHAFF" -q tag --json "${pages[@]}" >"$T/tags.jsonl"
want_keep=$(grep -c '"keep":true' "$T/tags.jsonl")
want_drop=$(grep -c '"keep":false' "$T/tags.jsonl")
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --user-data-dir="$T/profile" --enable-logging=stderr --v=0)
"$CHROMIUM" "${flags[@]}" --dump-dom "file://$art/audit.html" >"$T/dom.html" 2>"$T/console.log"
"$CHROMIUM" "${flags[@]}" --window-size=1200,1600 --screenshot="$art/audit.png" \
  "file://$art/audit.html" >/dev/null 2>>"$T/console.log"
got_keep=$(grep -o 'class="line keep"' "$T/dom.html" | wc -l)
got_drop=$(grep -o 'class="line drop"' "$T/dom.html" | wc -l)
if grep -E "CONSOLE|Uncaught|ERROR:CONSOLE" "$T/console.log" | grep -v "^$" >/dev/null; then
  grep -E "CONSOLE|Uncaught" "$T/console.log"; echo "FAIL: console errors"; exit 1
fi
if [ "$got_keep" -ne "$want_keep" ] || [ "$got_drop" -ne "$want_drop" ]; then
  echo "FAIL: DOM has $got_keep kept / $got_drop dropped lines, tag says $want_keep / $want_drop"; exit 1
fi
[ -s "$art/audit.png" ] || { echo "FAIL: no screenshot"; exit 1; }
grep -q 'line-through' "$T/dom.html" || { echo "FAIL: dropped lines not struck through"; exit 1; }
echo "ok: audit page renders $got_keep kept and $got_drop dropped lines; screenshot $art/audit.png"
