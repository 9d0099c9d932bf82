"""EventBridge's deliveries to SQS queues as AWS documents them; moto 5.2.5 sends every
matching event to the queue whatever the queue's policy says, and never dead-letters.

AWS:
- "Permissions for Amazon SQS" (EventBridge User Guide, "Using resource-based policies
  for Amazon EventBridge"): EventBridge sends to a queue as the service principal
  `events.amazonaws.com`, and only where the queue's resource policy allows it
  `sqs:SendMessage`, usually with `aws:SourceArn` naming the rule.
- "Using dead-letter queues to process undelivered events in EventBridge" (User
  Guide): an event a target cannot take goes, for a permissions error at once and
  without retries, to the target's dead-letter queue, if it has one and that queue's
  policy lets EventBridge send to it; the message is the event, with the message
  attributes RULE_ARN, TARGET_ARN, ERROR_CODE and ERROR_MESSAGE. Without one, the event
  is dropped.

The queue's policy in force is the one the policy delay has let through (delays.py).
A rule made or changed through the API matches nothing until the rule delay has passed,
and an archived event reaches the archive after the archive delay (delays.py).
"""

import copy
import json

from moto.core.utils import iso_8601_datetime_without_milliseconds, utcfromtimestamp
from moto.events.models import Rule
from moto.events.utils import EventTemplateParser
from moto.sqs.models import sqs_backends
from moto.utilities.arns import parse_arn

import bus_policies
from delays import archive_stamp, effective_queue_policy, rule_active

bus_policies._KEYS.update({"aws:sourcearn", "aws:sourceaccount", "aws:securetransport"})


def _allows_eventbridge(policy_text, queue_arn, rule):
    """Whether the queue's policy lets EventBridge send this rule's events to it."""
    if not policy_text:
        return False
    context = dict(
        bus_policies.service_context(rule.account_id),
        **{
            "aws:sourcearn": rule.arn,
            "aws:sourceaccount": rule.account_id,
            "aws:securetransport": "true",
        },
    )
    allowed = False
    for statement in json.loads(policy_text).get("Statement", []):
        actions = bus_policies._values(statement.get("Action", []))
        if not any(bus_policies._string_like(a.lower(), "sqs:sendmessage") for a in actions):
            continue
        resources = bus_policies._values(statement.get("Resource", "*"))
        if not any(bus_policies._string_like(r, queue_arn) for r in resources):
            continue
        if not bus_policies._principal_matches(statement.get("Principal"), context):
            continue
        if not bus_policies._condition_holds(statement.get("Condition"), context):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = True
    return allowed


def _queue(arn):
    try:
        return sqs_backends[arn.account][arn.region].get_queue(arn.resource_id)
    except Exception:
        return None


def _as_delivered(event):
    event = dict(event)
    if isinstance(event.get("time"), (int, float)) or (
        isinstance(event.get("time"), str) and event["time"].replace(".", "", 1).isdigit()
    ):
        event["time"] = iso_8601_datetime_without_milliseconds(utcfromtimestamp(float(event["time"])))
    event.pop("stripe-bridge-archived-at", None)
    return event


def _dead_letter(rule, target, event, code, message):
    dlq_arn = (target.get("DeadLetterConfig") or {}).get("Arn")
    if not dlq_arn:
        return
    arn = parse_arn(dlq_arn)
    queue = _queue(arn)
    if queue is None or not _allows_eventbridge(effective_queue_policy(queue), queue.queue_arn, rule):
        return
    text = lambda value: {"DataType": "String", "StringValue": value}  # noqa: E731
    sqs_backends[arn.account][arn.region].send_message(
        queue_name=arn.resource_id,
        message_body=json.dumps(_as_delivered(event)),
        message_attributes={
            "RULE_ARN": text(rule.arn),
            "TARGET_ARN": text(target["Arn"]),
            "ERROR_CODE": text(code),
            "ERROR_MESSAGE": text(message),
        },
    )


def _deliver_to_queue(rule, target, event):
    arn = parse_arn(target["Arn"])
    queue = _queue(arn)
    if queue is None:
        _dead_letter(rule, target, event, "RESOURCE_NOT_FOUND", "The target queue does not exist.")
    elif not _allows_eventbridge(effective_queue_policy(queue), queue.queue_arn, rule):
        _dead_letter(
            rule,
            target,
            event,
            "NO_PERMISSIONS",
            "EventBridge is not allowed to send to the queue: check its resource policy.",
        )
    else:
        group_id = target.get("SqsParameters", {}).get("MessageGroupId")
        # moto's own send writes the time as AWS does.
        event = dict(event)
        event.pop("stripe-bridge-archived-at", None)
        rule._send_to_sqs_queue(arn.resource_id, event, group_id)


_send_to_targets = Rule.send_to_targets
_send_to_events_archive = Rule._send_to_events_archive


def send_to_targets(self, original_event, transform_input=True):
    if not rule_active(self) or not self.event_pattern.matches_event(original_event):
        return
    others = []
    for target in self.targets:
        if parse_arn(target["Arn"]).service != "sqs":
            others.append(target)
            continue
        if transform_input:
            # As moto does: its default template rebuilds the envelope.
            transformer = target.get("InputTransformer", {})
            event = EventTemplateParser.parse(
                input_template=transformer.get("InputTemplate"),
                input_paths_map=transformer.get("InputPathsMap", {}),
                event=original_event,
            )
        else:
            event = copy.deepcopy(original_event)
        _deliver_to_queue(self, target, event)
    if others:
        rest = copy.copy(self)
        rest.targets = others
        _send_to_targets(rest, original_event, transform_input)


def send_to_events_archive(self, resource_id, event):
    return _send_to_events_archive(self, resource_id, archive_stamp(dict(event)))


Rule.send_to_targets = send_to_targets
Rule._send_to_events_archive = send_to_events_archive
