#!/usr/bin/env bash
# Runs the pytest suite against the OLDEST fastai and fastcore that settings.ini's `requirements` allow (its `fastai>=X` and `fastcore>=Y`),
# so that those minimums are proved, not promised. Like tools/test_newest.sh, a second venv, .venv-min, takes everything else (torch,
# torchvision, upit, ...) from .venv through a .pth file and installs exactly fastai==X and fastcore==Y of its own, plus the releases of
# fastai's other dependencies that go with fastcore Y (fastprogress, ...), picked by pip.
# fastai goes in with --no-deps: old fastai releases cap torch (fastai 2.8.1 says torch<2.7), and the torch tested here is .venv's; such a
# cap is printed, not obeyed. Every other requirement of upit_ext and of what it depends on must hold, or the run stops before pytest.
set -euo pipefail
# Left out here: the soak test (slow), the cells of the model x objective matrix that its diagonal samples (matrix), the browser
# tests, which check pages and the web app rather than fastai, and tests/test_onnx.py, which exports networks with torch and runs them
# with onnxruntime, through no Learner, callback or DataLoader (the main run covers it).
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}; MIN=${MIN:-.venv-min}
read -r FASTAI FASTCORE < <("$VENV/bin/python" - <<'PY'
import configparser, sys
from packaging.requirements import Requirement
cfg = configparser.ConfigParser(interpolation=None); cfg.read('settings.ini')
reqs = [Requirement(r) for r in cfg['DEFAULT']['requirements'].split()]
def lowest(name):
    mins = [s.version for r in reqs if r.name == name for s in r.specifier if s.operator == '>=']
    if len(mins) != 1: sys.exit(f"settings.ini's requirements must give {name} one minimum, as {name}>=X (found {mins or 'none'})")
    return mins[0]
print(lowest('fastai'), lowest('fastcore'))
PY
)
echo "settings.ini's minimums: fastai $FASTAI, fastcore $FASTCORE"
"$VENV/bin/python" -m venv --clear "$MIN"
site() { "$1/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
site "$VENV" > "$(site "$MIN")/zz_upit_ext_base.pth"        # searched after the new venv's own packages
# the setuptools that venv seeds (Python < 3.12) would hide .venv's newer one, which torch asks for
if [ -d "$(site "$MIN")/setuptools" ]; then "$MIN/bin/python" -m pip uninstall -q -y setuptools; fi
export PIP_CONFIG_FILE=/dev/null PIP_FIND_LINKS=
# pip's notes that it leaves .venv's packages alone go to a log, shown if an install fails
pip_min() { "$MIN/bin/python" -m pip install -q "$@" >> "$MIN/pip.log" 2>&1 || { cat "$MIN/pip.log"; exit 1; }; }
pip_min --no-deps --ignore-installed "fastai==$FASTAI" "fastcore==$FASTCORE"
# fastai's other requirements; pip keeps .venv's release of each where it goes with fastcore==FASTCORE, else installs an older one here
mapfile -t DEPS < <("$MIN/bin/python" - <<'PY'
import importlib.metadata as md
from packaging.requirements import Requirement
for r in map(Requirement, md.requires('fastai') or []):
    if r.name not in ('torch', 'torchvision', 'fastcore', 'pip') and (r.marker is None or r.marker.evaluate({'extra': ''})): print(r)
PY
)
pip_min "fastcore==$FASTCORE" "${DEPS[@]}"
pip_min --no-deps --no-build-isolation -e .
"$MIN/bin/python" - "$FASTAI" "$FASTCORE" <<'PY'
import sys, importlib.metadata as md
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name as canon
import fastai, fastcore
print(f'fastai {fastai.__version__}, fastcore {fastcore.__version__} (from {fastai.__file__})')
errs = [f'{m.__name__} {m.__version__} is loaded from {m.__file__}, not {sys.argv[i]} from {sys.prefix}' for i, m in ((1, fastai), (2, fastcore))
        if m.__version__ != sys.argv[i] or not m.__file__.startswith(sys.prefix)]
# every requirement of upit_ext, and of the packages it depends on, holds in this venv (torch and torchvision: .venv's, whatever fastai says)
seen, todo = set(), ['upit_ext']
while todo:
    name = todo.pop()
    if canon(name) in seen: continue
    seen.add(canon(name))
    for r in map(Requirement, md.requires(name) or []):
        if r.marker is not None and not r.marker.evaluate({'extra': ''}): continue
        try: have = md.version(r.name)
        except md.PackageNotFoundError: errs.append(f'{name} needs {r}, which is not installed'); continue
        if not r.specifier.contains(have, prereleases=True):
            if canon(r.name) in ('torch', 'torchvision'): print(f'note: {name} {md.version(name)} asks for {r}; testing with {r.name} {have}')
            else: errs.append(f'{name} {md.version(name)} needs {r}, and {r.name} {have} is installed')
        todo.append(r.name)
sys.exit('\n'.join(errs) or None)
PY
bash tools/pytest.sh "$MIN/bin/python" -p no:cacheprovider tests -m 'not slow and not matrix' \
  --ignore=tests/test_docs_browser.py --ignore=tests/test_app_browser.py --ignore=tests/test_onnx.py
