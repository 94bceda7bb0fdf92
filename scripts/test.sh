#!/usr/bin/env bash
# Runs the whole test suite (unit tests, integration tests, notebooks through the kernel).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
start=$(date +%s)
cargo test --all-targets "$@"
cargo test --doc
echo "tests: finished in $(( $(date +%s) - start )) s"
