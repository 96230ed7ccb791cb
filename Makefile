# Two commands from a fresh clone: `make demo` and `make test` (see README).
VENV ?= .venv
BIN = $(VENV)/bin
export WANDB_MODE ?= offline
export WANDB_SILENT ?= true

.PHONY: setup demo test test-fp32 test-newest test-min sync nbtest pytest export docs outputs serve clean
setup:
	@bash tools/setup_env.sh

demo: setup
	$(BIN)/upit_ext demo

export: setup
	$(BIN)/nbdev_export

sync: setup  ## nbdev_export must leave the committed library unchanged
	@bash tools/check_sync.sh

nbtest: setup  ## every notebook under nbdev_test, one worker per core, then the slowest 15
	@VENV=$(VENV) bash tools/nbtest.sh

pytest: setup  ## the pytest suite, one process per core (pytest-xdist), then the slowest 15 tests
	@bash tools/pytest.sh $(BIN)/python tests

test: sync nbtest pytest

test-fp32: setup  ## the notebooks and the pytest suite on the fp32 path of CPUs without native bf16 (tools/fp32_path.sh), whatever this CPU has
	@bash tools/fp32_path.sh $(MAKE) --no-print-directory nbtest pytest

test-newest: setup  ## pytest again with the newest fastai and fastcore 2 from PyPI (the dev tools pin fastcore<2; users do not)
	@VENV=$(VENV) bash tools/test_newest.sh

test-min: setup  ## pytest again with the oldest fastai and fastcore that settings.ini's requirements allow (the fastai>= and fastcore>= minimums, read from there)
	@VENV=$(VENV) bash tools/test_min.sh

docs: setup  ## the documentation site in _docs/: nbdev_docs with Quarto, else executed notebooks rendered by MkDocs (tools/build_docs.sh)
	@VENV=$(VENV) bash tools/build_docs.sh

outputs: setup  ## run the notebooks (NB=nbs/X.ipynb for one) and store their outputs in them, then rewrite README.md from nbs/index.ipynb
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/python tools/save_outputs.py $(NB)
	$(BIN)/python tools/make_readme.py

PORT ?= 8000
serve: docs  ## build the site, then serve it on http://127.0.0.1:$(PORT)/
	$(BIN)/python -m http.server --directory _docs --bind 127.0.0.1 $(PORT)

clean:
	rm -rf _docs _proc upit_ext_demo .pytest_cache
