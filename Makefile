# Two commands on a fresh machine (Debian + Python 3.11):
#   make demo   — the main job on the embedded synthetic default
#   make test   — the test suite
# Each creates ./.venv by itself the first time (and refreshes it when pyproject.toml changes).

PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-web venv clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,beam]"
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/lowlight demo --output demo_output

test: $(STAMP)
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) demo_output .pytest_cache
