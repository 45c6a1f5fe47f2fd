# One Python, no virtualenv: pip takes the CPU torch 2.13.0 build pinned in pyproject.toml from this machine's disk.
PYTHON ?= python3
CORPUS_MIRROR ?= ../shared/corpus
QUESTION ?= What are the three stages of process validation?

.PHONY: install demo serve test unit integration lint bench eval loadcheck

# The package with its test extra, and Debian's chromium for the web-page tests (no browser download).
install:
	$(PYTHON) -m pip install --quiet -e ".[test]"
	bash scripts/install-browser.sh

# Install, fetch the corpus from the mirror, build the knowledge base, answer a real question.
demo: install
	regkb corpus fetch --mirror $(CORPUS_MIRROR)
	regkb ingest
	regkb ask "$(QUESTION)"

# Install, fetch, index, then serve the API and the web chat page on http://127.0.0.1:8000/ until Ctrl-C.
# Local use on loopback: API keys are switched off and callers see public guidance only.
serve: install
	regkb corpus fetch --mirror $(CORPUS_MIRROR)
	regkb ingest
	REGKB_ACCESS__AUTH_DISABLED=true regkb serve --host 127.0.0.1 --port 8000

test: install
	$(PYTHON) -m pytest -q

unit: install
	$(PYTHON) -m pytest -q -m unit

integration: install
	$(PYTHON) -m pytest -q -m integration

lint:
	$(PYTHON) -m ruff check ingest kb api tests scripts
	$(PYTHON) -m mypy

bench: install
	$(PYTHON) scripts/bench.py

# 16 concurrent clients for 60 s against a server it starts on loopback (the index must exist: make demo).
loadcheck: install
	$(PYTHON) scripts/loadcheck.py --start-server --port 8799 --clients 16 --seconds 60

# The gold set through regkb and the baselines; reads the corpus in place, report in evals/reports/.
eval: install
	REGKB_CORPUS_DIR=$(abspath $(CORPUS_MIRROR)) regkb eval
