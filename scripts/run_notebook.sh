#!/usr/bin/env bash
# Executes a notebook headless through the real evcxr kernel:  scripts/run_notebook.sh NOTEBOOK OUTDIR
# The executed notebook (with its outputs, errors included) lands in OUTDIR, and the script fails if
# any cell failed; the notebook writes its files to
# OUTDIR/<notebook name>/ (it reads TUNESMITH_OUT).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
nb="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
out="$(mkdir -p "$2" && cd "$2" && pwd)"
name="$(basename "$nb" .ipynb)"
export TUNESMITH_OUT="$out/$name"
mkdir -p "$TUNESMITH_OUT"
cd "$(dirname "$nb")"
jupyter nbconvert --to notebook --execute --allow-errors \
  --ExecutePreprocessor.kernel_name=tunesmith \
  --ExecutePreprocessor.timeout="${TUNESMITH_CELL_TIMEOUT:-1800}" \
  --ExecutePreprocessor.startup_timeout=120 \
  --output-dir "$out" --output "$name.ipynb" "$nb"
python "$ROOT/scripts/check_notebook.py" "$out/$name.ipynb"
echo "notebook: executed $out/$name.ipynb; its files are in $TUNESMITH_OUT/"
