"""AWS's documented propagation delays, compressed, so that a test can fail the way AWS
would when something acts before a change has taken effect. moto 5.2.5 applies every
change at once.

AWS:
- PutRule (EventBridge API Reference): "incoming events might not immediately start
  matching to new or updated rules"; the same holds for a rule's new targets. Here a
  rule that was made or changed through the API (PutRule, PutTargets) matches nothing
  until the rule delay has passed: events put meanwhile are not delivered by it. (An
  archive's own rule is made by CreateArchive and takes effect at once.)
- SetQueueAttributes (Amazon SQS API Reference): a change to a queue's attributes "can
  take up to 60 seconds" to propagate. Here a queue's new Policy applies only after the
  policy delay; until then the policy before it is in force (queue_deliveries.py).
- Archives ("Replaying archived events in Amazon EventBridge", EventBridge User Guide):
  events may reach an archive with a delay, and AWS suggests starting a replay about
  10 minutes after the events. Here an archived event can be replayed only once the
  archive delay has passed.

Each delay is one second by default, and each can be set for an emulator of its own in
its environment, in seconds: STRIPE_BRIDGE_EMULATOR_RULE_DELAY,
STRIPE_BRIDGE_EMULATOR_POLICY_DELAY and STRIPE_BRIDGE_EMULATOR_ARCHIVE_DELAY (0 turns one
off). The CLI judges by AWS's own values unless STRIPE_BRIDGE_AWS_DELAY_SECONDS says
otherwise (src/aws/propagation.rs): the tests set it to these emulator's second.

`GET /moto-api/stripe-bridge/settled` answers how many changes have not taken effect
yet and how long until the last does (`{"pending": N, "seconds_left": S}`), so that a
test can poll for a settled emulator with a deadline instead of sleeping.
"""

import json
import os
import time

from moto.events import responses as events_responses
from moto.events.models import events_backends
from moto.moto_api._internal import urls as moto_api_urls
from moto.sqs.models import SQSBackend


def _delay(name):
    return float(os.environ.get(name, "1"))


RULE_DELAY = _delay("STRIPE_BRIDGE_EMULATOR_RULE_DELAY")
POLICY_DELAY = _delay("STRIPE_BRIDGE_EMULATOR_POLICY_DELAY")
ARCHIVE_DELAY = _delay("STRIPE_BRIDGE_EMULATOR_ARCHIVE_DELAY")

# When each pending change takes effect, for the settled endpoint.
_effective_times = []


def _pending(at):
    _effective_times.append(at)
    return at


def rule_active(rule, now=None):
    return (now or time.time()) >= getattr(rule, "stripe_bridge_active_at", 0)


def _stamp_rule(handler, name, bus):
    backend = handler.events_backend
    try:
        rule = backend.describe_rule(name, bus)
    except Exception:
        return
    rule.stripe_bridge_active_at = _pending(time.time() + RULE_DELAY)


_put_rule = events_responses.EventsHandler.put_rule
_put_targets = events_responses.EventsHandler.put_targets


def put_rule(self):
    answer = _put_rule(self)
    _stamp_rule(self, self._get_param("Name"), self._get_param("EventBusName"))
    return answer


def put_targets(self):
    answer = _put_targets(self)
    _stamp_rule(self, self._get_param("Rule"), self._get_param("EventBusName"))
    return answer


events_responses.EventsHandler.put_rule = put_rule
events_responses.EventsHandler.put_targets = put_targets


# A queue's policies over time: (effective from, policy text or None).
_set_queue_attributes = SQSBackend.set_queue_attributes


def set_queue_attributes(self, queue_name, attributes):
    queue = self.get_queue(queue_name)
    before = queue.policy
    answer = _set_queue_attributes(self, queue_name, attributes)
    if "Policy" in attributes:
        history = getattr(queue, "stripe_bridge_policies", None) or [(0, before)]
        history.append((_pending(time.time() + POLICY_DELAY), queue.policy))
        queue.stripe_bridge_policies = history
    return answer


SQSBackend.set_queue_attributes = set_queue_attributes


def effective_queue_policy(queue, now=None):
    """The queue's policy in force now: the newest whose delay has passed."""
    now = now or time.time()
    history = getattr(queue, "stripe_bridge_policies", None)
    if not history:
        return queue.policy
    in_force = [policy for since, policy in history if since <= now]
    return in_force[-1] if in_force else None


def archive_stamp(event):
    """Marks an event as reaching the archive after the archive delay."""
    event["stripe-bridge-archived-at"] = _pending(time.time() + ARCHIVE_DELAY)
    return event


def archived(event, now=None):
    return (now or time.time()) >= event.get("stripe-bridge-archived-at", 0)


def settled_response(request, full_url, headers):
    now = time.time()
    left = [at - now for at in _effective_times if at > now]
    _effective_times[:] = [at for at in _effective_times if at > now]
    return 200, {}, json.dumps({"pending": len(left), "seconds_left": max(left, default=0)})


moto_api_urls.url_paths["{0}/moto-api/stripe-bridge/settled$"] = settled_response

__all__ = ["events_backends"]
