#!/usr/bin/env bash
# `make lab`: JupyterLab on localhost with the `tunesmith` kernel and the tutorials open; prints the
# URL to open. Run again, it reuses the running server. `make lab-stop` (this script with --stop)
# stops it. Options and the state folder (.tools/lab/): see scripts/lab.py.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
exec python "$ROOT/scripts/lab.py" "$@"
