# dvcid: `make dev` runs the whole system, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install dev test unit lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# The official AsyncAPI JSON Schemas (npm @asyncapi/specs, pinned in .ci/asyncapi): the test
# of docs/asyncapi.yaml validates against them (dvcid/tests/test_asyncapi.py).
ASYNCAPI_SPECS := .ci/asyncapi/node_modules/.installed
$(ASYNCAPI_SPECS): .ci/asyncapi/package-lock.json
	@command -v npm >/dev/null || { echo "make install needs npm (Debian: apt-get install -y npm)" >&2; exit 1; }
	npm ci --prefix .ci/asyncapi --no-audit --no-fund --silent
	touch $@

install: $(BIN)/.installed

dev: install
	$(BIN)/dvcid dev

# No test is skipped for a missing tool: the system packages first (installed, or the
# command that installs them).
test: install $(ASYNCAPI_SPECS)
	./.ci/system-packages
	$(BIN)/pytest -q

unit: install $(ASYNCAPI_SPECS)
	$(BIN)/pytest -q -m "not integration and not e2e"

# lint-imports: services never import each other, shared/ imports no service, and no import
# cycle anywhere, imports inside functions included (pyproject.toml, [tool.importlinter]).
lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

# The bench's peer (a fastapi-users monolith) comes from the bench-only extra.
bench: install
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench.run

clean:
	rm -rf .dev test-output .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
