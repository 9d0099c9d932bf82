#!/usr/bin/env bash
# Times the two ways to a deployed bridge (issue 29), against the AWS emulator on 127.0.0.1,
# each from a clean directory, an empty HOME and an empty cache:
#
# - the release: unpack the archive .ci/release builds (as dist builds every platform's),
#   then `deploy`, with neither cargo nor rustc on PATH;
# - from source: `cargo install --locked --path .` into a fresh target directory (the
#   crates already downloaded), then `deploy`, which builds the relay.
#
#     benches/install.sh            # both (about 15 minutes on 2 cores: the source path compiles)
#     benches/install.sh --release  # the release path only
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stripe-bridge/target}"
venv="${STRIPE_BRIDGE_VENV:-.venv-aws}"
[ -x "$venv/bin/python" ] || { echo "benches/install.sh: run tests/run.sh once first (it installs the emulator)" >&2; exit 1; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
# Not timed: what a release publishes.
.ci/release "$out" >/dev/null
python3 benches/install.py "$out"/stripe-bridge-*.tar.xz "$venv/bin/python" tests/emulator/moto_server.py "$@"
