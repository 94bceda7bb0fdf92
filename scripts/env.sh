# Sourced by the other scripts: where the repo's tools live and the variables tch and the kernel need.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export TUNESMITH_ROOT="$ROOT"
export VENV="$ROOT/.venv"
export TOOLS="$ROOT/.tools"
export EVCXR_VERSION="0.22.0"
export EVCXR_BIN="$TOOLS/evcxr/bin/evcxr_jupyter"
export TUNESMITH_CACHE="${TUNESMITH_CACHE:-$HOME/.cache/tunesmith}"
export LIBTORCH_USE_PYTORCH=1
export PATH="$VENV/bin:$PATH"
TORCH_LIB="$(ls -d "$VENV"/lib/python3*/site-packages/torch/lib 2>/dev/null | head -n 1 || true)"
export TORCH_LIB
export LD_LIBRARY_PATH="${TORCH_LIB}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export JUPYTER_PATH="$TOOLS/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
