#!/usr/bin/env bash
# Installs the `tunesmith` Jupyter kernel spec (evcxr_jupyter with libtorch on its path, started by
# kernel/evcxr-kernel.sh in a work folder kept between kernels) into .tools/jupyter/kernels/tunesmith,
# which scripts/env.sh puts on JUPYTER_PATH.
# To make it visible to your own Jupyter as well:  jupyter kernelspec install --user .tools/jupyter/kernels/tunesmith
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/env.sh"
[ -x "$EVCXR_BIN" ] || { echo "kernel: $EVCXR_BIN is missing; run scripts/setup.sh" >&2; exit 1; }
[ -n "$TORCH_LIB" ] || { echo "kernel: torch is not installed in $VENV; run scripts/setup.sh" >&2; exit 1; }
dest="$TOOLS/jupyter/kernels/tunesmith"
mkdir -p "$dest"
threads="$(nproc)"
sed -e "s|@EVCXR@|$EVCXR_BIN|g" \
    -e "s|@TORCH_LIB@|$TORCH_LIB|g" \
    -e "s|@VENV_BIN@|$VENV/bin|g" \
    -e "s|@PATH@|$VENV/bin:$HOME/.cargo/bin:/usr/local/bin:/usr/bin:/bin|g" \
    -e "s|@THREADS@|$threads|g" \
    -e "s|@ROOT@|$ROOT|g" \
    "$ROOT/kernel/kernel.json.in" > "$dest/kernel.json.tmp"
mv "$dest/kernel.json.tmp" "$dest/kernel.json"
echo "kernel: installed $dest/kernel.json"
