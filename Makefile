# Two commands from a fresh clone: `make demo` and `make test` (see README).
VENV ?= .venv
BIN = $(VENV)/bin
export WANDB_MODE ?= offline
export WANDB_SILENT ?= true

.PHONY: setup demo test sync nbtest pytest export clean
setup:
	@bash tools/setup_env.sh

demo: setup
	$(BIN)/upit_ext demo

export: setup
	$(BIN)/nbdev_export

sync: setup  ## nbdev_export must leave the committed library unchanged
	@bash tools/check_sync.sh

nbtest: setup
	$(BIN)/nbdev_test --n_workers 2 --timing

pytest: setup
	$(BIN)/python -m pytest -q tests

test: sync nbtest pytest

clean:
	rm -rf _docs _proc upit_ext_demo .pytest_cache
