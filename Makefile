# LandDesk — `make demo` sets everything up and opens the dashboard on the sample county; `make test` runs the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: setup system-deps demo serve test wheel-smoke bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("LandDesk needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

system-deps:
	@bash scripts/system-deps.sh

demo: setup
	$(BIN)/landdesk demo

serve: setup
	$(BIN)/landdesk serve

test: setup system-deps
	$(BIN)/pytest -q

# Build the wheel, install it in a fresh venv and smoke-test it from /tmp (CI runs it after `make test`).
wheel-smoke: setup
	bash scripts/wheel-smoke.sh

bench: setup
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) data/ .pytest_cache
