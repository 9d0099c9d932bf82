#!/usr/bin/env bash
# The evidence that stripe-bridge keeps its three promises, in one command: it installs
# what it needs (the emulator, checkov, cargo-fuzz), runs the tests that measure the
# promises, fuzzes the signature checking, scans the template with checkov, and prints
# the figures as a table. Any broken promise fails it. Nothing leaves 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
# One warm build directory for every script, outside the clone (../shared/TESTING.md).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stripe-bridge/target}"

venv="${STRIPE_BRIDGE_VENV:-.venv-aws}"
tests/emulator/install.sh "$venv"
export STRIPE_BRIDGE_PYTHON="$PWD/$venv/bin/python"
checkov_venv="${STRIPE_BRIDGE_CHECKOV_VENV:-.venv-checkov}"
checkov_version="checkov==3.3.30"
if [ "$(cat "$checkov_venv/.stripe-bridge-requirements" 2>/dev/null)" != "$checkov_version" ]; then
  echo "installing $checkov_version into $checkov_venv" >&2
  python3 -m venv "$checkov_venv"
  "$checkov_venv/bin/pip" install --quiet --disable-pip-version-check "$checkov_version"
  echo "$checkov_version" > "$checkov_venv/.stripe-bridge-requirements"
fi
if ! cargo fuzz --version 2>/dev/null | grep -q '0.13.2'; then
  cargo install --locked cargo-fuzz --version 0.13.2
fi

evidence="$(mktemp -d -t stripe-bridge-evidence.XXXXXX)"
trap 'rm -rf "$evidence"' EXIT
export STRIPE_BRIDGE_EVIDENCE_DIR="$evidence"

echo "== the tests that measure the promises" >&2
# The same package selection as tests/run.sh, so the build it made is reused as it is.
cargo test --locked --workspace --exclude relay-function-fuzz --test it -- --test-threads 2 \
  faults:: malformed_requests:: left_behind:: interrupted_deploy:: least_privilege:: no_secrets:: \
  notice_flood:: replay:: dead_letters:: stripe_link:: >&2

echo "== fuzzing the signature parser and verifier (1,000,000 runs, AddressSanitizer, debug assertions)" >&2
new_corpus="$evidence/corpus"
mkdir -p "$new_corpus"
# New inputs go to a scratch directory; the committed corpus only seeds the run.
# AddressSanitizer and debug assertions (overflow checks) on: the toolchain's own
# sanitizer runtime, with RUSTC_BOOTSTRAP for cargo-fuzz's -Z flags on stable.
sanitizer=address
(cd relay-function && RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz --sanitizer "$sanitizer" \
  --debug-assertions --release \
  signature "$new_corpus" fuzz/corpus/signature -- -runs=1000000 -max_len=8192) 2>"$evidence/fuzz.log" ||
  { tail -40 "$evidence/fuzz.log" >&2; exit 1; }
"$STRIPE_BRIDGE_PYTHON" - "$evidence" "$sanitizer" <<'EOF'
import json, re, sys
log = open(f"{sys.argv[1]}/fuzz.log").read()
done = re.search(r"Done (\d+) runs in (\d+) second", log)
json.dump({"executions": int(done.group(1)), "seconds": int(done.group(2)),
           "sanitizer": sys.argv[2], "debug_assertions": True,
           "panics_or_forgeries_found": 0}, open(f"{sys.argv[1]}/fuzz.json", "w"))
EOF

echo "== fuzzing with Stripe-like events, read as serde_json reads them (300,000 runs, AddressSanitizer)" >&2
mkdir -p "$evidence/event-corpus"
(cd relay-function && RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz --sanitizer "$sanitizer" \
  --debug-assertions --release \
  event "$evidence/event-corpus" -- -runs=300000 -max_len=4096) 2>"$evidence/fuzz-event.log" ||
  { tail -40 "$evidence/fuzz-event.log" >&2; exit 1; }
"$STRIPE_BRIDGE_PYTHON" - "$evidence" <<'EOF'
import json, re, sys
log = open(f"{sys.argv[1]}/fuzz-event.log").read()
done = re.search(r"Done (\d+) runs in (\d+) second", log)
json.dump({"executions": int(done.group(1)), "seconds": int(done.group(2))},
          open(f"{sys.argv[1]}/fuzz_event.json", "w"))
EOF

echo "== checkov on the rendered template" >&2
cargo run --locked --quiet -- template --format json > "$evidence/bridge.json"
cargo run --locked --quiet -- template --format yaml > "$evidence/bridge.yaml"
"$checkov_venv/bin/checkov" --config-file templates/checkov.yaml --skip-download --quiet --compact \
  --framework cloudformation -f "$evidence/bridge.json" -f "$evidence/bridge.yaml" > "$evidence/checkov.log" ||
  { cat "$evidence/checkov.log" >&2; exit 1; }

"$STRIPE_BRIDGE_PYTHON" - "$evidence" <<'EOF'
import json, re, sys
from pathlib import Path
d = Path(sys.argv[1])
f = {p.stem: json.loads(p.read_text()) for p in d.glob("*.json") if p.stem != "bridge"}
checkov = open(d / "checkov.log").read()
passed, failed = map(int, re.search(r"Passed checks: (\d+), Failed checks: (\d+)", checkov).groups())
skips = sum(1 for line in open("templates/checkov.yaml") if line.strip().startswith("- CKV"))
eb, sm, sns = f["lost_eventbridge_faults"], f["lost_secrets_manager_faults"], f["lost_sns_faults"]
rows = [
    ("Nothing lost", "EventBridge faults", f'{eb["events_sent"]} events, {eb["calls_faulted"]} of {eb["put_events_calls"]} PutEvents calls faulted'),
    ("", "answered 2xx / 5xx / 4xx", f'{eb["answered_2xx"]} / {eb["answered_5xx"]} / {eb["answered_4xx"]}'),
    ("", "delivered / lost / duplicates", f'{eb["delivered"]} / {eb["lost"]} / {eb["duplicates"]}'),
    ("", "delivered after Stripe's retries", f'{eb["delivered_after_stripes_retries"]} of {eb["events_sent"]}'),
    ("", "Secrets Manager down", f'{sm["answered_5xx_while_down"]} of {sm["requests_while_down"]} answered 5xx'),
    ("", "Secrets Manager flaky", f'2xx {sm["valid_answered_2xx"]} (valid), 4xx {sm["forged_answered_4xx"]} (forged), 5xx {sm["answered_5xx"]}; forged on the bus: {sm["forged_on_the_bus"]}'),
    ("", "SNS down", f'{sns["failed_publishes"]} publishes failed, {sns["answers_changed"]} of {sns["requests"]} answers changed'),
    ("", "archive and replay", f'{f["replay"]["archived"]} of {f["replay"]["relayed_through_dev"]} relayed events archived; replayed {f["replay"]["replayed_to_the_named_rule"]} to the named rule, {f["replay"]["replayed_to_another_rule"]} to another'),
    ("", "dead letters", f'{f["dead_letters"]["redelivered_to_their_rule"]} redelivered to their rule, {f["dead_letters"]["delivered_to_other_rules"]} to others; {f["dead_letters"]["left_in_the_queue"]} not the bridge\'s left in the queue of {f["dead_letters"]["dead_lettered"]}; backfill gave the new rule {f["dead_letters"]["backfilled_to_the_new_rule"]}'),
    ("", "Stripe gave up (past its retries)", f'{f["stripe_reconcile"]["arrived"]} of {f["stripe_reconcile"]["failed_past_stripes_retries"]} events resent by reconcile and relayed, once the secret was mended by rotate-secret'),
    ("", "deploys killed part-way", f'{f["interrupted_deploys"]["recovered_by_the_next_deploy"]} of {f["interrupted_deploys"]["killed"]} recovered by the next deploy'),
    ("Nothing forged", "fuzzing (cargo fuzz)", f'{f["fuzz"]["executions"]:,} runs in {f["fuzz"]["seconds"]} s ({f["fuzz"]["sanitizer"]} sanitizer, debug assertions, 4 secret lengths), 0 panics, 0 forgeries; {f["fuzz_event"]["executions"]:,} generated Stripe-like events, each read as serde_json reads it'),
    ("", "malformed requests", f'{f["forged"]["malformed_requests"]}: {f["forged"]["refused_with_the_specified_reason"]} refused with their reason, {f["forged"]["valid_variants_accepted"]} valid variants accepted, {f["forged"]["forged_events_on_the_bus"]} forged on the bus'),
    ("Nothing left behind", "after remove", f'{f["left_behind"]["left_after_remove"]} traces across {f["left_behind"]["services_inventoried"]} kinds of resource ({f["left_behind"]["bridge_resources_before_remove"]} before remove)'),
    ("", "bus switched with rules on it", f'refused: {f["bus_switch"]["switch_refused"]}; after remove, {f["bus_switch"]["left_after_remove"]} traces (a rule on another bus included)'),
    ("", "checkov", f'{passed} passed, {failed} failed, {skips} skipped with reasons (templates/checkov.yaml)'),
    ("", "IAM statements with a * resource", f'{f["least_privilege"]["wildcard_resources"]} of {f["least_privilege"]["iam_statements_checked"]}'),
    ("Nothing forged", "blank, placeholder or cut-short secrets", f'{f["weak_secrets"]["values_refused"]} stored values refused with 500 secret_invalid; the oracle fixtures add 4 weak-secret cases'),
    ("", "secrets in errors, logs and notices", f'{f["weak_secrets"]["secrets_found"]} in {f["weak_secrets"]["answers_logs_and_notices_checked"]} answers, log lines and notices from malformed and placeholder values'),
    ("", "bus policy: only the relay puts source Stripe", f'present: {f["bus_policy"]["present"]}; default bus touched: {f["bus_policy"]["default_bus_touched"]} (with --bus default the guarantee does not hold, and deploy says so)'),
    ("", "notices per forged-request burst", f'{f["forged_notices"]["notices_on_topic"]} on the topic from {f["forged_notices"]["forged_requests"]:,} forged requests over {f["forged_notices"]["environments"]} Lambda environments; {f["forged_notices"]["counted_unverified"]:,} counted for the burst alarm, which mails once'),
    ("", "secrets in output", f'{f["no_secrets"]["secrets_found"]} in {f["no_secrets"]["outputs_checked"]} outputs'),
    ("", "Stripe endpoint secrets in output", f'{f["stripe_link"]["secrets_found"]} of the {f["stripe_link"]["secrets_made"]} secrets Stripe returned, in {f["stripe_link"]["outputs_checked"]} outputs of link, add-rule and remove'),
    ("Nothing left behind", "Stripe endpoints after remove", f'{f["stripe_link"]["endpoints_left_after_remove"]} of {f["stripe_link"]["endpoints_made"]} made by link and add-rule'),
]
width = [max(len(r[i]) for r in rows) for i in range(2)]
print(f'| {"promise":<{width[0]}} | {"check":<{width[1]}} | figures |')
print(f'|{"-" * (width[0] + 2)}|{"-" * (width[1] + 2)}|---------|')
for a, b, c in rows:
    print(f"| {a:<{width[0]}} | {b:<{width[1]}} | {c} |")
assert eb["lost"] == 0 and failed == 0
EOF
