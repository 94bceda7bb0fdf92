# The commands of the README: `make lab`, `make demo` and `make test`. Each sets everything up first.
.PHONY: setup lab lab-stop demo test lint clean latency

setup:
	bash scripts/setup.sh

# JupyterLab on localhost with the tunesmith kernel and the tutorials open; prints the URL.
# Run again, it reuses the running server; `make lab-stop` stops it.
lab: setup
	bash scripts/lab.sh

lab-stop:
	bash scripts/lab.sh --stop

# Executes notebook 01 headless through the real evcxr kernel; outputs land in out/.
demo: setup
	bash scripts/run_notebook.sh notebooks/01_abc_char_lstm.ipynb out

# Every test: unit, integration, and the notebooks executed through the kernel.
test: setup
	bash scripts/test.sh

lint: setup
	bash -c 'source scripts/env.sh && cargo fmt --check && cargo clippy --all-targets -- -D warnings'

# The notebook loop's latency (first cell's :dep on a cold and a warm cache, a trivial cell):
# a benchmark, not a test; results in docs/notebook_latency.md.
latency: setup
	bash -c 'source scripts/env.sh && python scripts/bench_notebook_latency.py'

clean:
	rm -rf out target
