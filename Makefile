# The two commands of the README: `make demo` and `make test`. Both set everything up first.
.PHONY: setup demo test lint clean

setup:
	bash scripts/setup.sh

# Executes notebook 01 headless through the real evcxr kernel; outputs land in out/.
demo: setup
	bash scripts/run_notebook.sh notebooks/01_abc_char_lstm.ipynb out

# Every test: unit, integration, and the notebooks executed through the kernel.
test: setup
	bash scripts/test.sh

lint: setup
	bash -c 'source scripts/env.sh && cargo fmt --check && cargo clippy --all-targets -- -D warnings'

clean:
	rm -rf out target
