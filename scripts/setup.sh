#!/usr/bin/env bash
# Sets up everything tunesmith needs, reusing what is already there:
#   .venv/            Python with torch==2.13.0, music21, nbclient/nbconvert, pretty_midi, jupyterlab,
#                     verovio (sheet music), selenium (the browser test)
#   .tools/evcxr/     evcxr_jupyter (cargo install --locked), copied from a cache outside the repo when present
#   .tools/jupyter/   the `tunesmith` kernel spec from kernel/
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
start=$(date +%s)

venv_ok() {
  [ -x "$VENV/bin/python" ] && "$VENV/bin/python" - <<'PY' 2>/dev/null
import torch, music21, nbclient, nbconvert, pretty_midi, jupyterlab, verovio, selenium
assert torch.__version__.split("+")[0] == "2.13.0", torch.__version__
assert jupyterlab.__version__ == "4.6.6", jupyterlab.__version__
PY
}
if venv_ok; then
  echo "setup: .venv ready"
else
  echo "setup: creating .venv (torch 2.13.0 is large: a few minutes the first time, pip's cache makes it quick after)"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -r requirements.txt
  venv_ok || { echo "setup: .venv is still incomplete after pip install" >&2; exit 1; }
fi

evcxr_cached="$TUNESMITH_CACHE/evcxr_jupyter-$EVCXR_VERSION/bin/evcxr_jupyter"
if [ -x "$EVCXR_BIN" ] && [ -f "$TOOLS/evcxr/version" ] && [ "$(cat "$TOOLS/evcxr/version")" = "$EVCXR_VERSION" ]; then
  echo "setup: evcxr_jupyter $EVCXR_VERSION ready"
else
  mkdir -p "$TOOLS/evcxr/bin"
  if [ -x "$evcxr_cached" ]; then
    echo "setup: evcxr_jupyter $EVCXR_VERSION from $evcxr_cached"
    cp "$evcxr_cached" "$EVCXR_BIN"
  elif grep -qs "^\"evcxr_jupyter $EVCXR_VERSION " "$HOME/.cargo/.crates.toml" && [ -x "$HOME/.cargo/bin/evcxr_jupyter" ]; then
    echo "setup: evcxr_jupyter $EVCXR_VERSION from ~/.cargo/bin"
    cp "$HOME/.cargo/bin/evcxr_jupyter" "$EVCXR_BIN"
  else
    echo "setup: building evcxr_jupyter $EVCXR_VERSION (about 7 minutes on 2 cores, once per machine)"
    cargo install --locked --quiet evcxr_jupyter --version "$EVCXR_VERSION" --root "$TOOLS/evcxr"
    mkdir -p "$(dirname "$evcxr_cached")"
    cp "$EVCXR_BIN" "$evcxr_cached.tmp" && mv "$evcxr_cached.tmp" "$evcxr_cached"
  fi
  echo "$EVCXR_VERSION" > "$TOOLS/evcxr/version"
fi

source "$ROOT/scripts/env.sh"  # now that torch is installed, TORCH_LIB is known
bash "$ROOT/kernel/install.sh"
# Compile the crate into the kernel's cache now, so the first cell of a notebook (make lab, make demo,
# the notebook tests) takes seconds rather than minutes. TUNESMITH_WARM_KERNEL=0 skips it.
if [ "${TUNESMITH_WARM_KERNEL:-1}" != 0 ]; then
  echo "setup: warming the tunesmith kernel (minutes on a fresh machine, seconds after)"
  "$VENV/bin/python" "$ROOT/scripts/warm_kernel.py" \
    || echo "setup: warning: the kernel could not be warmed; the first notebook cell will compile the crate" >&2
fi
echo "setup: done in $(( $(date +%s) - start )) s"
