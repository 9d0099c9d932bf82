"""Records the IAM action of every request stripe-bridge itself sends, so that a test can
check the deploy policy against every AWS operation the CLI called in the whole suite
(tests/it/deploy_permissions.rs).

The CLI names itself in the SDK's user agent (`app/stripe-bridge`, aws-config's
`app_name`); the test harness's own calls and the deployed relay's (`app/stripe-bridge-relay`)
do not carry it. When STRIPE_BRIDGE_CALL_LOG names a file, each action the CLI called is
appended to it once per emulator, as `service:Action` on a line of its own (one short
`write` to a file opened for appending, so the lines of the emulators of parallel test
processes do not mix).

The action is the one moto's IAM enforcement authorises (the service's signing name and
the operation; S3's from its own action map), with the signing name turned into IAM's
prefix where they differ (`monitoring` is `cloudwatch`, as iam_enforcement.py does), and
SQS's batch operations turned into the actions IAM authorises them as: "the permissions
for ChangeMessageVisibilityBatch, DeleteMessageBatch, and SendMessageBatch are the same
as for ChangeMessageVisibility, DeleteMessage, and SendMessage" (Amazon SQS API
permissions reference, SQS Developer Guide).
"""

import os
import re
import threading

from moto.core.authorization import ActionAuthenticatorMixin

_PATH = os.environ.get("STRIPE_BRIDGE_CALL_LOG")
_CLI = re.compile(r"(^|\s)app/stripe-bridge(\s|$)")
_IAM_PREFIX = {"monitoring": "cloudwatch"}
_IAM_ACTION = {
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:SendMessageBatch": "sqs:SendMessage",
}
_seen = set()
_lock = threading.Lock()


def _service(headers):
    scope = (headers.get("Authorization") or "").partition("Credential=")[2].partition(",")[0]
    parts = scope.split("/")
    return parts[3] if len(parts) > 3 else None


def _record(response):
    headers = response.headers
    agent = f'{headers.get("x-amz-user-agent") or ""} {headers.get("User-Agent") or ""}'
    if not _CLI.search(agent):
        return
    service = _service(headers)
    action = response._get_action()
    if not service or not action:
        return
    line = f"{_IAM_PREFIX.get(service, service)}:{action}"
    line = _IAM_ACTION.get(line, line)
    with _lock:
        if line in _seen:
            return
        _seen.add(line)
        fd = os.open(_PATH, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)


if _PATH:
    _authorize = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def _authenticate_and_authorize_action(self, iam_request_cls, resource="*"):
        _record(self)
        return _authorize(self, iam_request_cls, resource)

    ActionAuthenticatorMixin._authenticate_and_authorize_action = _authenticate_and_authorize_action
