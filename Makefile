# Two commands set everything up on a fresh machine:
#   make demo   create .venv, install made, train on the built-in default data
#   make test   create/update .venv, install the dev dependencies, run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# --no-compile: pip would byte-compile every file of every package (torch's thousands; half
# the install's minute) one at a time; Python compiles what is imported, once, when first
# imported. So the recipes must let it write its caches, whatever the shell says.
PIP    := $(BIN)/python -m pip install --quiet --no-compile -c constraints.txt
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo test bench lint install install-dev clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "made needs Python >= 3.11, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)

# Stamp files re-run the install whenever the package metadata or the pin changes.
$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) -e .
	@touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) -e '.[dev]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/made train --out runs/demo --overwrite

# One worker a core (pytest-xdist; tests/conftest.py shares the threads out), and work
# stealing, so the long end-to-end tests do not leave one core idle at the end.
test: install-dev
	$(BIN)/python -m pytest -q -n auto --dist worksteal

# The quick versions of every benchmark (under 10 minutes on 2 cores); each prints a table.
# They write under runs/bench-quick, never over the committed results in benchmarks/results.
bench: install-dev
	$(BIN)/python benchmarks/speed.py --quick
	$(BIN)/python benchmarks/sample_speed.py --repeats 3
	$(BIN)/python benchmarks/train_speed.py --quick
	$(BIN)/python benchmarks/peers.py --quick
	$(BIN)/python benchmarks/precision.py --quick
	$(BIN)/python benchmarks/anomaly.py --quick
	$(BIN)/python benchmarks/tables.py --quick --json runs/bench-quick/tables.json
	$(BIN)/python benchmarks/synthetic.py --quick --json runs/bench-quick/synthetic.json
	$(BIN)/python benchmarks/real_tables.py --tables 3
	$(BIN)/python benchmarks/latent.py --quick
	$(BIN)/python benchmarks/one_hot.py --tables hmda --quick
	$(BIN)/python benchmarks/quality.py --quick --out runs/bench-quick/quality
	$(BIN)/python benchmarks/mnist.py single --epochs 3 --out runs/bench-quick/mnist \
		--json runs/bench-quick/mnist.json --table --if-available

lint: install-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) runs .pytest_cache .hypothesis src/*.egg-info
