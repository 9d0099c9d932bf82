"""EventBridge's resource policies, evaluated on PutEvents as AWS documents them; moto
5.2.5 stores a bus's policy and never reads it.

AWS:
- "Using resource-based policies for Amazon EventBridge" and "Using IAM policy
  conditions in Amazon EventBridge" (EventBridge User Guide): a bus's policy may Allow
  or Deny `events:PutEvents`, with the conditions `events:source` and
  `events:detail-type`, which EventBridge supplies per entry of the request.
- PutEvents (EventBridge API Reference): an entry refused for its source comes back in
  the answer's `Entries` with the error code `NotAuthorizedForSourceException`, counted
  in `FailedEntryCount`; the call itself succeeds.
- "AWS global condition context keys" (IAM User Guide): `aws:PrincipalArn` is, for an
  IAM user, the user's ARN and, for a role session, the ARN of the role (not the
  session's `assumed-role` ARN); `aws:PrincipalIsAWSService` is true only when an AWS
  service calls with its service principal, and false for every IAM identity.
- An explicit Deny overrides any Allow. Within one account an identity policy's Allow
  is enough, so only Deny statements can refuse a caller of the bus's own account.

Whom a request comes from: the identity its access key belongs to, as STS's
GetCallerIdentity says: an IAM user's key, or the temporary key of a role assumed with
AssumeRole (the role's ARN). A key the emulator never issued (the tests' default
`testing`) stands for an IAM user named `moto` of the account; moto's GetCallerIdentity
answers with an `sts` ARN for it, which no IAM policy can name, so it answers with that
user's ARN here too.

Replays: whether a bus policy applies to the events EventBridge itself sends back to a
bus in a replay is not documented. The emulator assumes the worst, evaluating the
destination bus's policy for each replayed event as the service principal
`events.amazonaws.com`, with `aws:PrincipalIsAWSService` true: a policy that would
refuse EventBridge's own replays fails a test here.

Condition operators and keys the bridge's policies do not use are refused loudly (the
request fails), so that a policy the emulator cannot judge is never judged as allowed.
"""

import fnmatch
import json

from moto.events import responses as events_responses
from moto.events.models import events_backends
from moto.iam.models import iam_backends
from moto.sts.models import STSBackend, sts_backends
from moto.utilities.utils import get_partition

SERVICE = "events.amazonaws.com"


class UnjudgeablePolicy(Exception):
    pass


def default_caller_arn(account_id, partition="aws"):
    return f"arn:{partition}:iam::{account_id}:user/moto"


def caller_arn(headers, account_id, region):
    """The request's `aws:PrincipalArn`."""
    scope = (headers.get("Authorization") or "").partition("Credential=")[2].partition(",")[0]
    key = scope.split("/")[0]
    partition = get_partition(region)
    assumed = sts_backends[account_id][partition].get_assumed_role_from_access_key(key)
    if assumed is not None:
        return assumed.role_arn
    user = iam_backends[account_id][partition].get_user_from_access_key_id(key)
    if user is not None:
        return user.arn
    return default_caller_arn(account_id, partition)


_get_caller_identity = STSBackend.get_caller_identity


def get_caller_identity(self, access_key_id, region):
    user_id, arn, account_id = _get_caller_identity(self, access_key_id, region)
    if arn == f"arn:{get_partition(region)}:sts::{self.account_id}:user/moto":
        arn = default_caller_arn(self.account_id, get_partition(region))
    return user_id, arn, account_id


STSBackend.get_caller_identity = get_caller_identity


def _values(value):
    return value if isinstance(value, list) else [value]


def _string_like(pattern, value):
    return fnmatch.fnmatchcase(value, pattern)


_OPERATORS = {
    "StringEquals": lambda want, have: have == want,
    "StringLike": lambda want, have: _string_like(want, have),
    "ArnEquals": lambda want, have: _string_like(want, have),
    "ArnLike": lambda want, have: _string_like(want, have),
    "Bool": lambda want, have: str(have).lower() == str(want).lower(),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}
_KEYS = {"events:source", "events:detail-type", "aws:principalarn", "aws:principalisawsservice", "aws:principalaccount"}


def _condition_holds(condition, context):
    for operator, tests in (condition or {}).items():
        negated = operator in _NEGATED
        base = _NEGATED.get(operator, operator)
        if base not in _OPERATORS:
            raise UnjudgeablePolicy(f"condition operator {operator}")
        for key, wanted in tests.items():
            if key.lower() not in _KEYS:
                raise UnjudgeablePolicy(f"condition key {key}")
            have = context.get(key.lower())
            if have is None:
                # A key absent from the request: a negated operator holds, another fails
                # (IAM User Guide, "Condition operators").
                if not negated:
                    return False
                continue
            matched = any(_OPERATORS[base](w, have) for w in _values(wanted))
            if matched == negated:
                return False
    return True


def _principal_matches(principal, context):
    if principal == "*":
        return True
    if isinstance(principal, dict):
        if principal.get("AWS") == "*":
            return True
        if context["aws:principalisawsservice"] == "true":
            return context["service"] in _values(principal.get("Service", []))
        for arn in _values(principal.get("AWS", [])):
            if arn in (context["aws:principalarn"], context["aws:principalaccount"]) or arn == (
                f"arn:aws:iam::{context['aws:principalaccount']}:root"
            ):
                return True
    return False


def _applies(statement, bus_arn, context):
    actions = _values(statement.get("Action", []))
    if not any(fnmatch.fnmatchcase("events:PutEvents".lower(), a.lower()) for a in actions):
        return False
    if not any(_string_like(r, bus_arn) for r in _values(statement.get("Resource", "*"))):
        return False
    return _principal_matches(statement.get("Principal"), context) and _condition_holds(
        statement.get("Condition"), context
    )


def denied(bus, entry, context):
    """Whether the bus's policy denies this entry to this caller."""
    if not bus.policy:
        return False
    entry_context = dict(context, **{"events:source": entry.get("Source"), "events:detail-type": entry.get("DetailType")})
    return any(
        s.get("Effect") == "Deny" and _applies(s, bus.arn, entry_context)
        for s in json.loads(bus.policy)["Statement"]
    )


def caller_context(principal_arn, account_id):
    return {
        "aws:principalarn": principal_arn,
        "aws:principalaccount": account_id,
        "aws:principalisawsservice": "false",
        "service": None,
    }


def service_context(account_id):
    return {
        "aws:principalarn": None,
        "aws:principalaccount": account_id,
        "aws:principalisawsservice": "true",
        "service": SERVICE,
    }


_REFUSED = {
    "ErrorCode": "NotAuthorizedForSourceException",
    "ErrorMessage": "Not authorized for the source.",
}


def put_events(self):
    entries = self._get_param("Entries") or []
    backend = self.events_backend
    context = caller_context(caller_arn(self.headers, self.current_account, self.region), self.current_account)
    answers = [None] * len(entries)
    allowed = []
    try:
        for index, entry in enumerate(entries):
            try:
                bus = backend.describe_event_bus(backend._normalize_event_bus_arn(entry.get("EventBusName")))
            except Exception:
                bus = None
            if bus is not None and denied(bus, entry, context):
                answers[index] = dict(_REFUSED)
            else:
                allowed.append(index)
    except UnjudgeablePolicy as error:
        return self.error("ValidationException", f"the emulator cannot judge this bus policy: {error}")
    if len(entries) > 10 or allowed:
        put = backend.put_events([entries[i] for i in allowed] if len(entries) <= 10 else entries)
        for index, answer in zip(allowed, put):
            answers[index] = answer
    failed = len([a for a in answers if "ErrorCode" in a])
    return json.dumps({"FailedEntryCount": failed, "Entries": answers})


events_responses.EventsHandler.put_events = put_events


def replay_refused(account_id, region, bus, event):
    """Whether the destination bus's policy refuses EventBridge replaying this event."""
    entry = {"Source": event.get("source"), "DetailType": event.get("detail-type")}
    return denied(bus, entry, service_context(account_id))


__all__ = ["events_backends", "replay_refused"]
