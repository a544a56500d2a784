# Everything a fresh machine needs: `make run` (the demo) and `make test` (the tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench install constraints clean

# constraints.txt pins every package to the versions the tests last passed with (`make
# constraints` writes it again after an upgrade), so suggestions and test results repeat.
# The pinned numpy, pandas, scipy and scikit-learn need Python 3.11 or newer: say so before pip
# fails with "ResolutionImpossible". --clear: a .venv left by an earlier try (made by another
# Python, or half-installed) is made again, not kept.
$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "copcode needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) --version 2>&1). Install one and run make again (or make PYTHON=python3.11 ...)." >&2; exit 1; }
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/copcode code
	$(BIN)/copcode quotes --theme territory

test: $(STAMP)
	$(BIN)/ruff check
	$(BIN)/mypy
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

constraints: $(STAMP)
	$(BIN)/pip freeze --exclude-editable | grep -v '^pip==' > constraints.txt

clean:
	rm -rf $(VENV) .copcode out
