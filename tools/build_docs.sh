#!/usr/bin/env bash
# Builds the documentation site in _docs/ (`make docs`).
# With Quarto installed, nbdev's own `nbdev_docs`; otherwise tools/build_docs.py, which executes the notebooks, processes them with
# nbdev's processors into _proc/docs/ and renders them with MkDocs (installing MkDocs, mkdocs-jupyter, mkdocs-material and latex2mathml,
# which turns the notebooks' equations into MathML at build time, if missing), then fails on any broken internal link. DOCS_RENDERER=mkdocs forces the second path.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export WANDB_MODE=${WANDB_MODE:-offline} WANDB_SILENT=${WANDB_SILENT:-true}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}   # the notebooks run in parallel, one thread each (see tools/pytest.sh)
if [ "${DOCS_RENDERER:-}" != mkdocs ] && command -v quarto >/dev/null 2>&1; then
  exec "$VENV/bin/nbdev_docs"
fi
DOCS_REQS=(mkdocs==1.6.* "mkdocs-jupyter>=0.25,<0.27" "mkdocs-material>=9.5,<10" "latex2mathml>=3.77,<4")
if ! "$VENV/bin/python" -c "import mkdocs, mkdocs_jupyter, material, latex2mathml" >/dev/null 2>&1; then
  echo "installing the docs renderer: ${DOCS_REQS[*]}"
  "$VENV/bin/python" -m pip install -q "${DOCS_REQS[@]}"
fi
exec "$VENV/bin/python" tools/build_docs.py "$@"
