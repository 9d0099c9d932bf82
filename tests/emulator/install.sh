#!/usr/bin/env bash
# Installs what runs stripe-bridge against the local AWS emulator, pinned, into a
# virtualenv (default .venv-aws), if it is not there yet: moto's server, cfn-lint,
# parliament (which lints the deployer policy), and dist (cargo-dist, whose release
# configuration and shell installer tests/it/release.rs checks).
#   tests/emulator/install.sh [VENV]
set -euo pipefail
cd "$(dirname "$0")/../.."

venv="${1:-${STRIPE_BRIDGE_VENV:-.venv-aws}}"
requirements=("moto[server]==5.2.5" "cfn-lint==1.58.*" "parliament==1.6.4" "astral-dev-toolchain-cargo-dist==0.33.0")
stamp="$venv/.stripe-bridge-requirements"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${requirements[*]}" ]; then
  echo "installing ${requirements[*]} into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${requirements[@]}"
  echo "${requirements[*]}" > "$stamp"
fi
