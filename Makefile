# Two commands on a fresh machine (Debian + Python 3.11):
#   make demo   — the main job on the embedded synthetic default
#   make test   — the test suite
# Each creates ./.venv by itself the first time (and refreshes it when pyproject.toml changes).

PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-web web-deps android-deps venv clean check-claims

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[train,test,beam]"
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/lowlight demo --output demo_output

test: $(STAMP)
	$(PY) -m pytest -q

# Every number in the README's performance / quality sections must be in benchmarks/results/ or
# saved_models/*/ (rule: benchmarks/check_claims.py). Also part of `make test` (tests/test_claims.py).
check-claims: $(STAMP)
	$(PY) benchmarks/check_claims.py

# The LiteRT.js client's browser test: Debian's chromium + mobile/web's npm packages.
web-deps:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }
	cd mobile/web && npm ci --no-audit --no-fund --loglevel=error

# The Android sample's Kotlin core and its JUnit 4 tests (tests/test_android_core.py, part of
# `make test`): Debian's kotlinc 1.3, junit4 and Android's org.json as a plain jar.
android-deps:
	@command -v kotlinc >/dev/null && [ -f /usr/share/java/junit4.jar ] && [ -f /usr/share/java/com.android.json.jar ] || \
	  { apt-get update -qq && apt-get install -y -qq kotlin junit4 libandroid-json-java; }

test-web: $(STAMP) web-deps
	$(PY) -m pytest -q -m web tests/test_web_client.py

clean:
	rm -rf $(VENV) demo_output .pytest_cache
