#!/usr/bin/env bash
# The pytest suite as `make pytest`, `make test-newest` and `make test-min` run it: one process per core (pytest-xdist), each with one
# thread, then the 15 slowest tests. With more threads than cores (2 processes of 2 threads on 2 cores) OpenMP's idle threads spin and
# every process slows down several times over; one thread each uses the cores fully.
# Usage: tools/pytest.sh PYTHON [PYTEST ARGS...]   (PYTEST_WORKERS=N sets the number of processes; default: one per core)
set -euo pipefail
PY=$1; shift
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
exec "$PY" -m pytest -q -n "${PYTEST_WORKERS:-auto}" --durations=15 "$@"
