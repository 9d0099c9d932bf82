#!/usr/bin/env bash
# Runs every test of stripe-bridge on a fresh machine: installs what the tests need if
# it is missing (the AWS emulator moto and cfn-lint, pinned, into .venv-aws), then runs
# the workspace's tests. The tests start the emulator themselves on a free port of
# 127.0.0.1, and it stops with them.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${STRIPE_BRIDGE_VENV:-.venv-aws}"
tests/emulator/install.sh "$venv"
export STRIPE_BRIDGE_PYTHON="$PWD/$venv/bin/python"

# The signature fixtures and the event-type catalogue must be what Stripe's official
# library says: regenerate them with the pinned library and compare.
if command -v npm >/dev/null; then
  (cd tests/oracle && npm ci --silent --no-audit --no-fund)
  regenerated="$(mktemp)"
  node tests/oracle/generate-signature-fixtures.mjs "$regenerated" >/dev/null
  if ! cmp -s "$regenerated" tests/fixtures/signatures.json; then
    echo "tests/run.sh: tests/fixtures/signatures.json differs from what the oracle generates; run: cd tests/oracle && npm run generate" >&2
    exit 1
  fi
  regenerated_thin="$(mktemp)"
  node tests/oracle/generate-event-types.mjs "$regenerated" "$regenerated_thin" >/dev/null
  for pair in "$regenerated:src/stripe/stripe_event_types.txt" "$regenerated_thin:src/stripe/stripe_thin_event_types.txt"; do
    if ! cmp -s "${pair%%:*}" "${pair#*:}"; then
      echo "tests/run.sh: ${pair#*:} differs from what the pinned library lists; run: cd tests/oracle && node generate-event-types.mjs" >&2
      exit 1
    fi
  done
  rm -f "$regenerated" "$regenerated_thin"
else
  echo "tests/run.sh: npm not found; the signature fixtures are not regenerated" >&2
fi

# A warm build directory outside the clone keeps the AWS SDK from recompiling each run.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stripe-bridge/target}"
# The fuzz target is built by `cargo fuzz` (tests/evidence.sh), not by cargo test.
# Tests marked #[ignore] build the relay's Lambda artifact with fat LTO (minutes on two
# cores): CI runs them, a developer's run skips them unless asked (-- --include-ignored).
# The emulators record each AWS action the CLI calls (tests/emulator/call_log.py); after
# the suite, one test checks the deploy policy against all of them.
export STRIPE_BRIDGE_CALL_LOG="${STRIPE_BRIDGE_CALL_LOG:-$(mktemp -t stripe-bridge-calls.XXXXXX)}"
: > "$STRIPE_BRIDGE_CALL_LOG"
after_the_suite=deploy_permissions::every_call_of_the_suite_is_allowed_and_every_statement_is_needed
if [ "${CI:-}" = true ]; then
  cargo test --locked --workspace --exclude relay-function-fuzz "$@" -- --include-ignored --skip "$after_the_suite"
else
  cargo test --locked --workspace --exclude relay-function-fuzz "$@"
fi
# Only over a whole run: a filtered one records only part of what the CLI calls. With the
# suite's own package selection: without --workspace, cargo unifies the dependencies'
# features differently and rebuilds them (4 minutes on a cold machine).
if [ "$#" -eq 0 ]; then
  cargo test --locked --workspace --exclude relay-function-fuzz --test it "$after_the_suite" -- --ignored --exact
fi
