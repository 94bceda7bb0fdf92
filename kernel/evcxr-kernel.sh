#!/usr/bin/env bash
# Starts evcxr_jupyter (the kernel spec's command) in a work folder kept between kernels, so cargo's
# build state survives a kernel's end: the next kernel's `:dep` finds tch's C++ wrapper (torch-sys's
# build script, which evcxr's `:cache` does not keep) and every crate already built, and takes seconds
# instead of minutes. Kernels running at once each take their own folder (a slot held with flock for
# the kernel's life); when every slot is taken, evcxr makes a throwaway folder as it does by default.
#   usage: evcxr-kernel.sh EVCXR_JUPYTER ARGS...    work folders: $TUNESMITH_EVCXR_WORK (.tools/evcxr-work)
set -euo pipefail
evcxr="$1"; shift
work="${TUNESMITH_EVCXR_WORK:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.tools/evcxr-work}"
if mkdir -p "$work" 2>/dev/null; then
  for slot in 0 1 2 3 4 5 6 7; do
    exec {lock}>"$work/slot-$slot.lock"
    if flock -n "$lock"; then
      # The lock stays held by evcxr (exec keeps the descriptor open) until the kernel ends.
      mkdir -p "$work/slot-$slot"
      export EVCXR_TMPDIR="$work/slot-$slot"
      exec "$evcxr" "$@"
    fi
    exec {lock}>&-
  done
fi
exec "$evcxr" "$@"
