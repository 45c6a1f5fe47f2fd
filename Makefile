# One Python, no virtualenv: pip takes the CPU torch 2.13.0 build pinned in pyproject.toml from this machine's disk.
PYTHON ?= python3
CORPUS_MIRROR ?= ../shared/corpus
QUESTION ?= What are the three stages of process validation?

.PHONY: install demo test unit integration lint bench eval

install:
	$(PYTHON) -m pip install --quiet -e ".[test]"

# Install, fetch the corpus from the mirror, build the knowledge base, answer a real question.
demo: install
	regkb corpus fetch --mirror $(CORPUS_MIRROR)
	regkb ingest
	regkb ask "$(QUESTION)"

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

# The gold set through regkb and the baselines; reads the corpus in place, report in evals/reports/.
eval: install
	REGKB_CORPUS_DIR=$(abspath $(CORPUS_MIRROR)) regkb eval
