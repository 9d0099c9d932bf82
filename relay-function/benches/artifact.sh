#!/usr/bin/env bash
# Measures the relay's Lambda artifact as `deploy` ships it:
# - the release `bootstrap` (profile `lambda`) zipped, in bytes (target: at most 4 MB);
# - the newest glibc symbol it needs (Lambda's provided.al2023 has glibc 2.34);
# - its start-up time, from exec to its first poll of the Lambda Runtime API, against a
#   stand-in Runtime API on 127.0.0.1 (median of RUNS starts).
#
#     relay-function/benches/artifact.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-30}"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stripe-bridge/target}"
cargo build --locked --quiet -p relay-function --profile lambda --bin bootstrap
bootstrap="$CARGO_TARGET_DIR/lambda/bootstrap"

python3 relay-function/benches/artifact.py "$bootstrap" "$runs"
