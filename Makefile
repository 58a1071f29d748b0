# The two commands the README promises on a fresh clone:
#   make demo   set up, then run the pipeline on the offline default (tiny Qwen3 and Gemma3)
#   make test   set up, then run the test suite CI runs
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Fewer threads than cores was faster on small CPU runs (NOTES); override freely.
export OMP_NUM_THREADS ?= 1
# glibc returns big freed blocks to the OS and pays page faults to get them back every
# training step: keeping them cut tiny_qwen3's system time from 20 s to 2.5 s per 30 steps
# (99 -> 84 s of CPU, same loss). Other libcs ignore these.
export MALLOC_MMAP_THRESHOLD_ ?= 4294967296
export MALLOC_TRIM_THRESHOLD_ ?= 4294967296
export MALLOC_TOP_PAD_ ?= 536870912
export WANDB_SILENT ?= true

# llama-cpp-python builds llama.cpp: portable (no -march=native, so the wheel pip caches runs
# on any x86-64), and without the parts we do not use (about 10 min on 2 cores, once).
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF

.PHONY: setup demo test lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: setup.cfg setup.py pyproject.toml
	$(PYTHON) -m venv $(VENV)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet -e ".[cpu,dev,gguf,sweep]"
	$(BIN)/python -m dnd_ft.assets fetch
	touch $@

demo: setup
	@dir=outputs/demo/$$(date +%Y-%m-%d_%H-%M-%S); \
	$(BIN)/python -m dnd_ft -m experiment=demo hydra.sweep.dir=$$dir && \
	$(BIN)/python -m dnd_ft.report $$dir

test: setup
	$(BIN)/python -m pytest -m "not slow and not gpu" -q

lint: setup
	$(BIN)/ruff check dnd_ft hydra_plugins tests benchmarks scripts
	$(BIN)/ruff format --check dnd_ft hydra_plugins tests benchmarks scripts
	$(BIN)/lint-imports

bench: setup
	$(BIN)/python benchmarks/bench_scenarios.py
	$(BIN)/python benchmarks/bench_train.py
	$(BIN)/python benchmarks/bench_eval.py

clean:
	rm -rf outputs multirun wandb .pytest_cache
