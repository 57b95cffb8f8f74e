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

.PHONY: install demo test fuzz lint format bench bench-install clean

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

# Randomized fuzzing, never in CI (whose Hypothesis profile tries the same examples every time):
# ten times the examples, a fresh seed unless FUZZ_SEED is given. A failure prints the seed that
# replays the whole run and Hypothesis's @reproduce_failure blob for the one example; pin what it
# finds with @example in the test.
FUZZ_TESTS ?= tests/reliability/test_protocol_fuzz.py tests/processing/test_properties.py
ifndef FUZZ_SEED
FUZZ_SEED := $(shell $(PYTHON) -c 'import secrets; print(secrets.randbelow(2**32))')
endif
fuzz: $(DEV_STAMP)
	@echo "fuzzing with seed $(FUZZ_SEED)"
	@env -u CI GAPCAST_HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -p no:cacheprovider \
		--hypothesis-seed=$(FUZZ_SEED) $(FUZZ_TESTS) $(FUZZ_ARGS) || { \
		echo "fuzzing failed; replay this run with: make fuzz FUZZ_SEED=$(FUZZ_SEED)"; \
		echo "or one example with the @reproduce_failure(...) line printed above"; exit 1; }

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src

format: $(DEV_STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
