#!/usr/bin/env bash
# `nbdev_test` on every notebook (arguments pass through, e.g. --path nbs/X.ipynb), one worker per core each with one thread (see
# tools/pytest.sh for why), then the 15 slowest notebooks.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
log=$(mktemp); trap 'rm -f "$log"' EXIT
rc=0; "$VENV/bin/nbdev_test" --timing "$@" > "$log" 2>&1 || rc=$?
grep -v ' secs$' "$log" || true
if grep -q ' secs$' "$log"; then echo "slowest notebooks:"; grep ' secs$' "$log" | head -15 | sed 's/^/  /'; fi
exit $rc
