#!/usr/bin/env bash
# The whole journey, as a deployer holding only templates/deployer-policy.json:
# deploy, set-secret, add-rule to a queue, test --expect-delivery, the consumer gets the
# event, replay, dead-letters, remove, and nothing of the bridge left.
#
#   tests/aws-smoke.sh --emulator     against the local emulator, with IAM enforced and
#                                     every propagation delay on (CI runs this)
#   tests/aws-smoke.sh --aws          against the AWS account and region of the
#                                     environment (AWS_PROFILE, AWS_REGION, …): for a
#                                     maintainer with a real account; it costs cents
#
# With --aws, the identity of the environment must be allowed to create an IAM user and
# policy: it makes a user holding only the deploy policy, with an access key, runs the
# journey as that user, and deletes the user, its key and its policy at the end. It
# builds the relay (cargo) and deploys it for real; the sample goes to the real webhook
# URL. A run takes about 15 minutes, mostly waiting for events to reach the archive.
set -euo pipefail
cd "$(dirname "$0")/.."
# One warm build directory for every script, outside the clone (../shared/TESTING.md).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stripe-bridge/target}"

mode="${1:-}"
case "$mode" in
  --emulator | --aws) ;;
  *) echo "usage: tests/aws-smoke.sh --emulator | --aws" >&2; exit 2 ;;
esac

venv="${STRIPE_BRIDGE_VENV:-.venv-aws}"
tests/emulator/install.sh "$venv"
python="$PWD/$venv/bin/python"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

cargo build --locked --quiet --bin stripe-bridge
target_dir="$(cargo metadata --format-version 1 --no-deps --locked |
  "$python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
bin="$target_dir/debug/stripe-bridge"

name="stripe-smoke-$("$python" -c 'import secrets; print(secrets.token_hex(3))')"
work="$(mktemp -d -t stripe-bridge-smoke.XXXXXX)"
dev_pid=""
admin_env=()

if [ "$mode" = --emulator ]; then
  step "Starting the AWS emulator (every propagation delay on: a second each)"
  port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  exec {emulator}> >(exec "$python" tests/emulator/moto_server.py "$port" 2>"$work/moto.log")
  until "$python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" 2>/dev/null; do
    sleep 0.2
  done
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
    AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
  admin_env=(AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing)
  # The CLI judges AWS's delays by the emulator's second, not AWS's minutes.
  export STRIPE_BRIDGE_AWS_DELAY_SECONDS=1
fi

# moto checks every call against its caller's IAM policies once this many more calls
# have been made (its /moto-api/reset-auth; the body is read as text).
enforce_iam_after() {
  "$python" -c "import urllib.request; urllib.request.urlopen(urllib.request.Request('$AWS_ENDPOINT_URL/moto-api/reset-auth', data=b'$1', method='POST', headers={'Content-Type': 'text/plain'}))" >/dev/null
}

# The administrator's calls (the deployer user, the consumer's queue), with boto3.
admin_py() { env "${admin_env[@]}" "$python" -c "import boto3, json, sys, time; $1" "${@:2}"; }

cleanup() {
  set +e
  [ -n "$dev_pid" ] && kill "$dev_pid" 2>/dev/null
  if [ -n "${deployer_key:-}" ]; then
    [ "$mode" = --emulator ] && enforce_iam_after 1000000
    admin_py '
iam = boto3.client("iam"); user, key, policy = sys.argv[1:4]
iam.delete_access_key(UserName=user, AccessKeyId=key)
iam.detach_user_policy(UserName=user, PolicyArn=policy)
iam.delete_user(UserName=user); iam.delete_policy(PolicyArn=policy)
sqs = boto3.client("sqs")
for url in sqs.list_queues(QueueNamePrefix=sys.argv[4]).get("QueueUrls", []):
    sqs.delete_queue(QueueUrl=url)
' "$name-deployer" "$deployer_key" "$policy_arn" "$name-billing"
  fi
  [ "$mode" = --emulator ] && exec {emulator}>&-
  rm -rf "$work"
}
trap cleanup EXIT

step "A deployer holding only templates/deployer-policy.json, and a consumer's queue"
read -r policy_arn deployer_key deployer_secret deployer_arn queue_url queue_arn < <(admin_py '
iam = boto3.client("iam"); name, mode = sys.argv[1:3]
document = json.load(open("templates/deployer-policy.json"))
if mode == "--emulator":
    # moto matches a call against the policy by its action only, with `*` for the
    # resource and no condition keys: the statements as it can judge them.
    for statement in document["Statement"]:
        statement["Resource"] = "*"
        statement.pop("Condition", None)
policy = iam.create_policy(PolicyName=f"{name}-deployer", PolicyDocument=json.dumps(document))["Policy"]["Arn"]
user = iam.create_user(UserName=f"{name}-deployer")["User"]["Arn"]
iam.attach_user_policy(UserName=f"{name}-deployer", PolicyArn=policy)
key = iam.create_access_key(UserName=f"{name}-deployer")["AccessKey"]
sqs = boto3.client("sqs")
url = sqs.create_queue(QueueName=f"{name}-billing")["QueueUrl"]
arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
print(policy, key["AccessKeyId"], key["SecretAccessKey"], user, url, arn)
' "$name" "$mode")
echo "deployer $deployer_arn; queue $queue_arn"
if [ "$mode" = --emulator ]; then
  # From here on every call is checked against its caller's policies.
  enforce_iam_after 0
fi

# The deployer's own calls: the CLI, and boto3 reading the consumer's queue.
as_deployer() {
  env -u AWS_SESSION_TOKEN -u AWS_PROFILE \
    AWS_ACCESS_KEY_ID="$deployer_key" AWS_SECRET_ACCESS_KEY="$deployer_secret" "$@"
}
sb() {
  echo "\$ stripe-bridge --name $name $*" >&2
  as_deployer "$bin" --name "$name" "$@"
}
# A new access key takes a moment to work on AWS: poll until STS knows it.
as_deployer "$python" - <<'PY'
import time, boto3
deadline = time.time() + 120
while True:
    try:
        boto3.client("sts").get_caller_identity()
        break
    except Exception:
        assert time.time() < deadline, "the deployer's access key never worked"
        time.sleep(2)
PY
# Polls the consumer's queue, with a deadline, for a message that passes CHECK (Python,
# over `event`); prints it.
await_event() {
  as_deployer "$python" - "$queue_url" "$1" "$2" <<'PY'
import json, sys, time, boto3
url, check, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
sqs, deadline = boto3.client("sqs"), time.time() + seconds
while time.time() < deadline:
    for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2).get("Messages", []):
        event = json.loads(m["Body"])
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        if eval(check):
            print(event["detail"]["id"], event.get("replay-name", "-"))
            sys.exit(0)
sys.exit(f"no event passing {check} reached the queue within {seconds:.0f} s")
PY
}

step "Deploy"
if [ "$mode" = --emulator ]; then
  # The emulator runs no Lambda: a stand-in relay zip, and the relay itself through `dev`.
  "$python" - "$work/relay.zip" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    info = zipfile.ZipInfo("bootstrap"); info.external_attr = 0o755 << 16
    z.writestr(info, b"\x7fELF smoke GLIBC_2.17")
PY
  sb deploy --artifact "$work/relay.zip" --allow-publisher "$deployer_arn"
else
  sb deploy
fi

# Events from here on are in the archive's window.
since="$(date -u -d '+1 second' +%Y-%m-%dT%H:%M:%SZ)"

step "Set the signing secret"
secret="whsec_smoke$("$python" -c 'import secrets; print(secrets.token_hex(16))')"
printf %s "$secret" | sb set-secret -

step "Route invoice.paid to the consumer's queue"
rule="$(sb --output json add-rule --type invoice.paid --target "$queue_arn" | "$python" -c 'import json, sys; print(json.load(sys.stdin)["rule"])')"

url_args=()
if [ "$mode" = --emulator ]; then
  as_deployer "$bin" --name "$name" dev --port 0 >"$work/dev.out" 2>"$work/dev.err" &
  dev_pid=$!
  until grep -q '^Listening on ' "$work/dev.out"; do
    kill -0 "$dev_pid" 2>/dev/null || { cat "$work/dev.err" >&2; exit 1; }
    sleep 0.1
  done
  url_args=(--url "$(sed -n 's/^Listening on //p' "$work/dev.out")")
fi

step "A signed sample through the relay, proven on the bus (the queue is ours: --yes)"
sent="$(sb --output json test "${url_args[@]}" --expect-delivery --yes)"
"$python" -c 'import json, sys; r = json.loads(sys.argv[1]); assert r["delivered"] is True, r' "$sent"

step "The consumer gets invoice.paid (a new rule takes up to a minute on AWS: resent until then)"
deadline=$(( $(date +%s) + 150 ))
until await_event 'event["detail-type"] == "invoice.paid" and "replay-name" not in event' 20; do
  [ "$(date +%s)" -lt "$deadline" ] || { echo "the consumer never got an invoice.paid" >&2; exit 1; }
  sb test "${url_args[@]}" --yes >/dev/null
done

step "Replay from the archive to the rule (events reach the archive minutes after the bus on AWS)"
archived() { sb --output json status | "$python" -c 'import json, sys; print(json.load(sys.stdin)["archive"]["event_count"])'; }
deadline=$(( $(date +%s) + 1200 ))
until [ "$(archived)" -ge 1 ]; do
  [ "$(date +%s)" -lt "$deadline" ] || { echo "nothing reached the archive" >&2; exit 1; }
  sleep 10
done
if [ "$mode" = --emulator ]; then
  # The emulator's archive delay (a second): poll until it has settled.
  "$python" tests/emulator/settle.py "$AWS_ENDPOINT_URL"
fi
sb replay --from "$since" --rule "$rule"
await_event '"replay-name" in event' 120

step "Dead letters (none expected)"
sb dead-letters

step "Remove, and nothing of the bridge left"
[ -n "$dev_pid" ] && { kill "$dev_pid"; wait "$dev_pid" 2>/dev/null || true; dev_pid=""; }
sb remove --yes
# The administrator looks: on the emulator, IAM enforcement ends here.
[ "$mode" = --emulator ] && enforce_iam_after 1000000
where="${AWS_ENDPOINT_URL:-aws}"
env "${admin_env[@]}" "$python" tests/emulator/inventory.py "$where" | "$python" -c '
import json, sys
name = sys.argv[1]
left = {kind: [e for e in entries if name in e and not e.endswith(("-deployer", "-billing"))] for kind, entries in json.load(sys.stdin).items()}
left = {kind: entries for kind, entries in left.items() if entries}
assert not left, f"left behind: {left}"
print("nothing left")
' "$name"

echo "aws-smoke: the journey passed ($mode)."
