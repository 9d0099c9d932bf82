#!/usr/bin/env bash
# stripe-bridge's main job with no AWS account: against the local AWS emulator.
#
# It installs the emulator (moto, pinned) if it is missing, starts it on a free port of
# 127.0.0.1, builds stripe-bridge, and then runs what a user runs: deploy, set-secret,
# add-rule to a queue, signed sample events through the relay (`stripe-bridge dev`,
# the Lambda's own code on 127.0.0.1), the same requests in `tail` and one event's
# `trace`, the events arriving in the queue, replay, dead letters; then the Stripe side,
# against our Stripe API emulator: `link`, events Stripe makes arriving, a secret rolled
# behind the bridge's back making deliveries fail past Stripe's retries, `rotate-secret`
# and `reconcile` mending it, the endpoint's types following add-rule; status, `doctor`,
# and remove, after which nothing of the bridge is left on either side. It stops everything it started.
# Nothing leaves this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
# One warm build directory for every script, outside the clone (../shared/TESTING.md).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stripe-bridge/target}"

venv="${STRIPE_BRIDGE_VENV:-.venv-aws}"
tests/emulator/install.sh "$venv"
python="$PWD/$venv/bin/python"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Building stripe-bridge"
cargo build --locked --quiet --bin stripe-bridge
target_dir="$(cargo metadata --format-version 1 --no-deps --locked |
  "$python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
bin="$target_dir/debug/stripe-bridge"
sb() {
  echo "\$ stripe-bridge $*" >&2
  "$bin" "$@"
}

step "Starting the AWS emulator"
port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
log="$(mktemp -t stripe-bridge-demo-moto.XXXXXX)"
# The emulator stops when its standard input closes: when this script ends, however it ends.
exec {emulator}> >(exec "$python" tests/emulator/moto_server.py "$port" 2>"$log")
dev_pid=""
cleanup() {
  [ -n "$dev_pid" ] && kill "$dev_pid" 2>/dev/null || true
  exec {emulator}>&-
}
trap cleanup EXIT
until "$python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" 2>/dev/null; do
  sleep 0.2
done
echo "moto is listening on http://127.0.0.1:$port"

# The emulator's endpoint and test credentials; nothing from this machine's AWS set-up.
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true \
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
# Waits, polling with a deadline, until the emulator's compressed propagation delays
# (a new rule, a queue's new policy, the archive) have passed, as a person would wait
# out AWS's.
settle() { "$python" tests/emulator/settle.py "http://127.0.0.1:$port"; }
# What a consumer of the bus would be: a queue, read here with boto3 (moto brings it).
aws_py() { "$python" -c "import boto3, json, sys; sqs = boto3.client('sqs'); $1" "${@:2}"; }

step "Deploying the bridge (builds the relay the first time: a few minutes)"
# Only the relay may put Stripe events on the bridge's bus; the demo runs the relay
# locally (`dev`) as its own identity, so the deploy lets that identity publish too.
me="$("$python" -c 'import boto3; print(boto3.client("sts").get_caller_identity()["Arn"])')"
sb deploy --allow-publisher "$me"

# Events from here on are in the archive's window.
since="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
sleep 1

step "Setting the signing secret (Stripe shows it on the endpoint's page)"
secret="whsec_demo$("$python" -c 'import secrets; print(secrets.token_hex(16))')"
printf %s "$secret" | sb set-secret -

step "Routing invoice events to a queue"
queue_url="$(aws_py 'print(sqs.create_queue(QueueName="billing-invoices")["QueueUrl"])')"
queue_arn="$(aws_py 'print(sqs.get_queue_attributes(QueueUrl=sys.argv[1], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])' "$queue_url")"
sb add-rule --type 'invoice.*' --target "$queue_arn"
echo "On AWS a new rule, and the permission its target was just given, take up to a minute to"
echo "apply; the emulator's take a second. Waiting for it:"
settle

step "Running the relay locally, as stripe listen --forward-to would reach it"
dev_out="$(mktemp -t stripe-bridge-demo-dev.XXXXXX)"
"$bin" dev --port 0 >"$dev_out" 2>/dev/null &
dev_pid=$!
until grep -q '^Listening on ' "$dev_out"; do
  kill -0 "$dev_pid" 2>/dev/null || { echo "stripe-bridge dev did not start" >&2; exit 1; }
  sleep 0.1
done
url="$(sed -n 's/^Listening on //p' "$dev_out")"
echo "the relay is listening on $url"

step "Sending signed sample events"
# `test` names the rules a sample would reach and asks first, with --expect-delivery too;
# the demo's queue is no live consumer, so --yes.
paid_id="$(sb --output json test --url "$url" --type invoice.paid --yes |
  "$python" -c 'import json, sys; print(json.load(sys.stdin)["event_id"])')"
echo "sent invoice.paid $paid_id"
sb test --url "$url" --type invoice.payment_failed --expect-delivery --yes
sb test --url "$url" --type customer.created
echo "A request signed with another secret is refused, and never reaches the bus:"
sb test --url "$url" --secret "whsec_forged$("$python" -c 'import secrets; print(secrets.token_hex(16))')" ||
  echo "(refused, as it should be)"
echo
echo "The relay's log, one line per request:"
sed -n '2,$p' "$dev_out"

step "dev wrote the same lines to the bridge's log group: tail shows them (Ctrl-C after 5 s)"
echo "\$ stripe-bridge tail --since 10m" >&2
timeout --preserve-status -s INT 5 "$bin" tail --since 10m
step "One event's story: trace"
sb trace "$paid_id"

drain='
out = []
while True:
    messages = sqs.receive_message(QueueUrl=sys.argv[1], MaxNumberOfMessages=10).get("Messages", [])
    if not messages:
        break
    for m in messages:
        event = json.loads(m["Body"])
        out.append(event)
        print("  %-24s %-30s replay-name: %s" % (event["detail-type"], event["detail"]["id"], event.get("replay-name", "-")))
        sqs.delete_message(QueueUrl=sys.argv[1], ReceiptHandle=m["ReceiptHandle"])
'

step "What arrived in the queue (only invoice.*: customer.created matched no rule)"
aws_py "$drain"'
assert sorted(e["detail-type"] for e in out) == ["invoice.paid", "invoice.payment_failed"], out
' "$queue_url"


step "The archive kept every event: replay them to the invoice rule only"
# Events reach the archive a little after the bus (on AWS, minutes): wait for the emulator's.
settle
sb replay --from "$since" --rule stripe-bridge-invoice-all
aws_py "$drain"'
assert sorted(e["detail-type"] for e in out) == ["invoice.paid", "invoice.payment_failed"], out
json.dump(out[0], open(sys.argv[2], "w"))
' "$queue_url" "${dev_out}.event"

step "A target that failed: its event is in the dead-letter queue (seeded as AWS shapes it)"
dlq_url="$(sb --output json status 2>/dev/null | "$python" -c 'import json, sys; print(json.load(sys.stdin)["dead_letters"]["queue_url"])')"
rule_arn="$("$python" -c "import boto3; print(boto3.client('events').describe_rule(Name='stripe-bridge-invoice-all', EventBusName='stripe-bridge')['Arn'])")"
aws_py '
attribute = lambda v: {"DataType": "String", "StringValue": v}
sqs.send_message(QueueUrl=sys.argv[1], MessageBody=open(sys.argv[2]).read(), MessageAttributes={
    "RULE_ARN": attribute(sys.argv[3]), "TARGET_ARN": attribute(sys.argv[4]),
    "ERROR_CODE": attribute("NO_PERMISSIONS"), "ERROR_MESSAGE": attribute("Access denied by the target'"'"'s policy")})
' "$dlq_url" "${dev_out}.event" "$rule_arn" "$queue_arn"
sb dead-letters
echo "Its event reached the bus seconds ago: on AWS it may not be archived for some minutes,"
echo "so a redelivery now keeps the letter and says when to try again."
if sb dead-letters --redeliver; then
  echo "a seconds-old letter was redelivered before the archive could hold its event" >&2
  exit 1
fi
echo "The emulator's delays are a second, not AWS's minutes. Once it has settled, and told so"
echo "(STRIPE_BRIDGE_AWS_DELAY_SECONDS=1), the redelivery replays to that rule only, then deletes the message."
settle
STRIPE_BRIDGE_AWS_DELAY_SECONDS=1 sb dead-letters --redeliver
aws_py "$drain"'
assert len(out) >= 1, out
' "$queue_url"
sb dead-letters

step "The Stripe side: link makes the webhook endpoint (against our Stripe API emulator)"
# Stripe's API is emulated on 127.0.0.1 (tests/emulator/stripe_api.py): it keeps endpoints
# and events, signs and delivers each event, retries failures on a compressed schedule
# (seconds, for Stripe's 3 days). Events for the bridge's API Gateway URL are delivered
# to `dev` here instead.
stripe_log="$(mktemp -t stripe-bridge-demo-stripe.XXXXXX)"
exec {stripe_api}> >(exec "$python" tests/emulator/stripe_api.py 0 --retry-delays 0.3,0.6,1.2 --disable-after 60 >"$stripe_log" 2>&1)
until grep -q '^listening on ' "$stripe_log"; do sleep 0.1; done
export STRIPE_API_BASE="http://$(sed -n 's/^listening on //p' "$stripe_log")"
export STRIPE_API_KEY="sk_test_demo$("$python" -c 'import secrets; print(secrets.token_hex(12))')"
stripe_ctl() {
  "$python" -c '
import json, sys, urllib.request
request = urllib.request.Request(sys.argv[1] + "/_emulator/" + sys.argv[2], method=sys.argv[3],
    data=(sys.argv[4].encode() if len(sys.argv) > 4 else None))
print(json.dumps(json.load(urllib.request.urlopen(request))))
' "$STRIPE_API_BASE" "$@"
}
# Everything the CLI prints from here on is kept, to check that no secret Stripe made is in it.
stripe_out="$(mktemp -t stripe-bridge-demo-out.XXXXXX)"
sbs() { sb "$@" > >(tee -a "$stripe_out") 2> >(tee -a "$stripe_out" >&2); }
sbs link
webhook_url="$(sb --output json status 2>/dev/null | "$python" -c 'import json, sys; print(json.load(sys.stdin)["webhook_url"])')"
stripe_ctl route POST "{\"from\": \"$webhook_url\", \"to\": \"$url\"}" >/dev/null
echo "Stripe delivers events for $webhook_url to $url"

step "Stripe makes two events: both arrive in the queue"
for type in invoice.paid invoice.finalized; do
  stripe_ctl events POST "{\"type\": \"$type\"}" | "$python" -c 'import json, sys; e = json.load(sys.stdin); print("  Stripe made", e["type"], e["id"])'
done
wait_queue() {
  aws_py '
import time
want, out, deadline = int(sys.argv[2]), [], time.time() + 20
while len(out) < want and time.time() < deadline:
    for m in sqs.receive_message(QueueUrl=sys.argv[1], MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
        event = json.loads(m["Body"])
        out.append(event)
        print("  %-24s %s" % (event["detail-type"], event["detail"]["id"]))
        sqs.delete_message(QueueUrl=sys.argv[1], ReceiptHandle=m["ReceiptHandle"])
assert len(out) == want, out
' "$queue_url" "$1"
}
wait_queue 2

step "Someone rolls the secret in Stripe's Dashboard: three events fail past Stripe's retries"
endpoint_id="$(stripe_ctl endpoints GET | "$python" -c 'import json, sys; print(json.load(sys.stdin)["endpoints"][0]["id"])')"
stripe_ctl roll-secret POST "{\"endpoint\": \"$endpoint_id\"}" >/dev/null
for _ in 1 2 3; do stripe_ctl events POST '{"type": "invoice.paid"}' >/dev/null; done
"$python" -c '
import json, sys, time, urllib.request
deadline = time.time() + 20
while time.time() < deadline:
    deliveries = json.load(urllib.request.urlopen(sys.argv[1] + "/_emulator/deliveries"))["deliveries"]
    given_up = [d for d in deliveries if d["status"] == 400 and d["attempt"] == 3]
    if len(given_up) == 3:
        break
    time.sleep(0.2)
assert len(given_up) == 3, deliveries
for d in deliveries[-12:]:
    print("  delivery of %s, attempt %d: %s" % (d["event"], d["attempt"] + 1, d["status"]))
' "$STRIPE_API_BASE"
sbs status | grep -A3 '^  Stripe' || true

step "rotate-secret mends it with no copy-paste; reconcile has Stripe resend what it failed to deliver"
# --wait: proof of a verified delivery needs a new event; the demo waits instead, long
# enough for the relay to read the new secret (it rereads at most every 5 s on a mismatch).
sbs rotate-secret --wait 6s
sbs reconcile --since 1h --yes
wait_queue 3

step "A new rule's type is added to the endpoint before the rule exists"
sbs add-rule --type customer.created --target "$queue_arn"
settle

step "The bridge's status (the requests counted include dev's)"
sb status

step "What a careful operator checks: doctor (here the alarms have no subscriber yet)"
if sb doctor; then
  echo "doctor found nothing wrong, but nobody subscribed to the demo's alarms" >&2
  exit 1
fi

step "Removing everything the bridge made"
# The relay's log group, where dev wrote its lines, as it was before it goes.
"$python" -c '
import boto3, json
logs = boto3.client("logs")
print(json.dumps(logs.filter_log_events(logGroupName="/aws/lambda/stripe-bridge-relay").get("events", [])))
' > "${dev_out}.logs"
kill "$dev_pid"
dev_pid=""
sbs remove --yes
left="$(stripe_ctl endpoints GET)"
echo "Stripe endpoints left: $left"
"$python" -c 'import json, sys; assert json.loads(sys.argv[1])["endpoints"] == [], sys.argv[1]' "$left"
# No secret Stripe made is in anything the CLI printed, in dev's lines, or in the relay's
# log group (read before remove, below).
"$python" -c '
import json, sys, urllib.request
secrets = json.load(urllib.request.urlopen(sys.argv[1] + "/_emulator/secrets"))["secrets"]
seen = open(sys.argv[2]).read() + open(sys.argv[3]).read() + open(sys.argv[4]).read()
assert secrets and not any(s in seen or s[len("whsec_"):] in seen for s in secrets), "a Stripe secret was printed"
print("none of the %d secrets Stripe made appears in the output, dev'"'"'s lines or the relay'"'"'s log" % len(secrets))
' "$STRIPE_API_BASE" "$stripe_out" "$dev_out" "${dev_out}.logs"
exec {stripe_api}>&-
# Everything the emulator holds, in every service; nothing may mention the bridge.
"$python" tests/emulator/inventory.py "$AWS_ENDPOINT_URL" | "$python" -c '
import json, sys
inventory = json.load(sys.stdin)
left = {kind: [e for e in entries if "stripe-bridge" in e] for kind, entries in inventory.items()}
for kind, entries in left.items():
    print(f"  {kind:26} {len(entries)} left")
assert not any(left.values()), left
'
aws_py 'sqs.delete_queue(QueueUrl=sys.argv[1])' "$queue_url"
echo
echo "Done: deployed, relayed verified events, refused a forged one, and removed it all."
