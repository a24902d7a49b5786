# Two commands on a fresh machine: `make run` and `make test`. Each installs what it needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# Tests mostly wait on sockets and databases: three workers on two cores finish in about half the time.
TEST_WORKERS ?= 3
STAMP := $(VENV)/.installed-stamp

.PHONY: install run deliver sandbox test lint typecheck pytest bench locales clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

locales: $(STAMP)
	@$(PY) -m bot.i18n compile

run: install locales
	$(PY) -m bot

# The outbox sender as a process of its own (DELIVERY_MODE=worker in .env; `make run` beside it).
deliver: install locales
	$(PY) -m bot.deliver

test: install locales lint typecheck pytest

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck:
	$(VENV)/bin/mypy bot handlers scheduler models services sandbox benchmarks

pytest:
	$(VENV)/bin/pytest -q -n $(TEST_WORKERS) --durations=10

bench: install locales
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[dev,bench]'
	$(PY) -m benchmarks $(ARGS)

clean:
	rm -rf $(VENV) data .mypy_cache .ruff_cache .pytest_cache
