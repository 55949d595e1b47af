# The two commands of the README do all of the set-up themselves:
#   make demo   the bot end to end against the built-in sandbox Reddit (SQLite, default model)
#   make test   the whole test suite (.ci/run calls this)
PYTHON ?= python3
VENV ?= .venv
# On a machine without an NVIDIA GPU the CPU build of torch is installed first, so that pip
# never pulls the multi-GB CUDA build. Override with TORCH_SPEC=... if your platform needs another.
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test lint services

venv: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	if ! command -v nvidia-smi >/dev/null 2>&1; then $(BIN)/pip install --quiet "$(TORCH_SPEC)"; fi
	$(BIN)/pip install --quiet -e '.[dev,lora,web]'
	touch $(STAMP)

demo: venv
	$(BIN)/redditbot sandbox

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

services:
	bash .ci/services.sh

test: venv services lint
	$(BIN)/python -m pytest
