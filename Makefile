# The two commands of the README: `make demo` and `make test`. Each sets up .venv when it is missing
# or older than pyproject.toml / constraints.txt, then does its job. `make demo` installs only what
# gapcast needs to run; `make test` (and lint, format, install) adds the dev extras (pytest, mypy,
# Playwright, schemathesis, Ray, ...). Each install has its own stamp, so a later `make demo` after
# `make test` installs nothing, and `make test` after `make demo` adds only the extras. Both make a
# bare `import keras` in .venv use JAX (keras_env.write_backend_default).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: install demo test lint format bench bench-install clean

define make_venv
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "gapcast needs Python 3.11+; set PYTHON=python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
endef

$(RUNTIME_STAMP): pyproject.toml constraints.txt
	$(make_venv)
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable .
	$(BIN)/python -m gapcast.model_training.keras_env
	@touch $@

# Everything: the runtime (so its stamp is fresh too) and the dev extras.
$(DEV_STAMP): pyproject.toml constraints.txt
	$(make_venv)
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable '.[dev]'
	$(BIN)/python -m gapcast.model_training.keras_env
	@touch $(RUNTIME_STAMP) $@

install: $(DEV_STAMP)

# The peers of the forecast-quality benchmark (mlforecast, LightGBM, neuralforecast, torch CPU):
# an extra that `make test` and `make demo` never install.
bench-install: $(DEV_STAMP)
	$(BIN)/python -m pip install --quiet --constraint constraints.txt \
		--constraint constraints-bench.txt --editable '.[dev,bench]'

demo: $(RUNTIME_STAMP)
	$(BIN)/gapcast demo

test: $(DEV_STAMP)
	$(BIN)/pytest

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src

format: $(DEV_STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
