#!/usr/bin/env bash
# Runs the pytest suite against the newest fastai and fastcore (2.x) on PyPI, as a user who `pip install upit_ext` today gets them.
# The dev toolchain pins fastcore<2 (nbdev 2 needs it); the library must not. A second venv, .venv-newest, takes everything else
# (torch, torchvision, upit, ...) from .venv through a .pth file and installs only fastai and fastcore of its own, so this costs seconds.
# FASTAI/FASTCORE pick other versions; the notebooks are not run here (nbdev_test needs the fastcore<2 toolchain).
set -euo pipefail
# Left out here: the soak test (slow), the cells of the model x objective matrix that its diagonal samples (matrix), the browser
# tests, which check pages and the web app rather than fastai, and tests/test_onnx.py, which exports networks with torch and runs them
# with onnxruntime, through no Learner, callback or DataLoader (the main run covers it).
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}; NEW=${NEW:-.venv-newest}
"$VENV/bin/python" -m venv --clear "$NEW"
site() { "$1/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
site "$VENV" > "$(site "$NEW")/zz_upit_ext_base.pth"        # searched after the new venv's own packages
# pip's notes that it leaves .venv's older fastai alone go to a log, shown if the install fails
PIP_CONFIG_FILE=/dev/null PIP_FIND_LINKS= "$NEW/bin/python" -m pip install -q --upgrade "${FASTAI:-fastai}" "${FASTCORE:-fastcore}" \
  > "$NEW/pip.log" 2>&1 || { cat "$NEW/pip.log"; exit 1; }
"$NEW/bin/python" -m pip install -q --no-deps --no-build-isolation -e .
"$NEW/bin/python" - <<'PY'
import fastai, fastcore, sys
print(f'fastai {fastai.__version__}, fastcore {fastcore.__version__} (from {fastai.__file__})')
sys.exit(fastcore.__version__.split('.')[0] != '2' or not fastai.__file__.startswith(sys.prefix))
PY
bash tools/pytest.sh "$NEW/bin/python" -p no:cacheprovider tests -m 'not slow and not matrix' \
  --ignore=tests/test_docs_browser.py --ignore=tests/test_app_browser.py --ignore=tests/test_onnx.py
