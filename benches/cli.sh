#!/usr/bin/env bash
# Times the CLI as a user runs it, release build, against the AWS emulator on 127.0.0.1:
# `--help`, and `deploy` with nothing changed (relay build check included).
#
#     benches/cli.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-10}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stripe-bridge/target}"
venv="${STRIPE_BRIDGE_VENV:-.venv-aws}"
[ -x "$venv/bin/python" ] || { echo "benches/cli.sh: run tests/run.sh once first (it installs the emulator)" >&2; exit 1; }
cargo build --locked --quiet --release --bin stripe-bridge
python3 benches/cli.py "$CARGO_TARGET_DIR/release/stripe-bridge" "$venv/bin/python" tests/emulator/moto_server.py "$runs"
