#!/usr/bin/env bash
# Speed and size side by side with Stripe's own Node library, in one run on this machine,
# on identical payload bytes: the relay's verify + parse + build against stripe-node
# 23.1.0's constructEvent with the HMAC-SHA256 floor (openssl); cold start and peak RSS
# of the relay's bootstrap against a Node.js 20 handler; the zip's size; `--help` and a
# deploy that changes nothing. Prints a Markdown table; exits 1 if a target is missed.
#
#     benches/compare.sh          (after tests/run.sh, which installs the emulator)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stripe-bridge/target}"
venv="${STRIPE_BRIDGE_VENV:-.venv-aws}"
tests/emulator/install.sh "$venv"
(cd benches/node && npm ci --silent --no-audit --no-fund)

dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
cargo build --locked --quiet --release --bin stripe-bridge
cli="$CARGO_TARGET_DIR/release/stripe-bridge"
"$cli" --quiet package --out "$dir/relay.zip"
# The three timings, the relay's, stripe-node's and openssl's HMAC floor, in five rounds that
# take turns, so that a slow spell of this shared machine slows every side alike; the
# table compares each side's best round.
for _ in $(seq "${COMPARE_ROUNDS:-5}"); do
  # Built with the Lambda's own profile, so the figures are those of the code in the zip.
  COMPARE_DIR="$dir" cargo bench --locked --quiet -p relay-function --profile lambda --bench compare >> "$dir/relay.jsonl"
  node benches/node/construct-event.mjs "$dir" >> "$dir/node.jsonl"
  python3 benches/compare.py floor "$dir" >> "$dir/floor.jsonl"
done
python3 benches/compare.py table "$dir" "$dir/relay.zip" "$cli" "$venv/bin/python"
