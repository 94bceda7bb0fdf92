#!/usr/bin/env bash
# Runs the whole test suite (unit tests, integration tests, notebooks through the kernel).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
# A shell started in the background (nohup, `&` in a script) hands SIGINT on ignored, and bash cannot
# undo that; the interrupt tests (notebook 04's "interrupt kernel", the kill test's Ctrl-C) need it
# as a terminal has it. Run the suite with the default disposition (and with SIGPIPE and SIGXFSZ
# as they were before Python, which ignores both, started).
if [ -z "${TUNESMITH_SIGINT_DEFAULT:-}" ]; then
  export TUNESMITH_SIGINT_DEFAULT=1
  exec python -c 'import os, signal, sys; [signal.signal(s, signal.SIG_DFL) for s in (signal.SIGINT, signal.SIGPIPE, signal.SIGXFSZ)]; os.execvp(sys.argv[1], sys.argv[1:])' \
    bash "$ROOT/scripts/test.sh" "$@"
fi
# On a Debian machine where this runs as root, the Slurm test (tests/slurm_sweep.rs) can install
# and start its one-node cluster, so there it must run rather than skip.
if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
  export TUNESMITH_REQUIRE_SLURM="${TUNESMITH_REQUIRE_SLURM:-1}"
fi
start=$(date +%s)
cargo test --all-targets "$@"
cargo test --doc
echo "tests: finished in $(( $(date +%s) - start )) s"
