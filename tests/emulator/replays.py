"""EventBridge replays as AWS documents them, in place of moto 5.2.5's, which sends
every archived event to every rule of the bus.

AWS ("Replaying archived events in Amazon EventBridge", and StartReplay in the API
Reference): a replay sends the archived events whose time is between EventStartTime and
EventEndTime to the destination bus, and, when Destination.FilterArns is given, only to
those rules; each replayed event carries `replay-name`, and rules still match it against
their patterns (the archive's own rule does not match: it requires that `replay-name`
be absent). Here the replay runs to its end before StartReplay answers, and
DescribeReplay then reports it COMPLETED, with EventLastReplayedTime at its end.

The destination bus's policy is evaluated for each replayed event as EventBridge's own
service principal (bus_policies.py says why): an event it refuses is not delivered. An
event the archive delay has not yet let into the archive is not replayed (delays.py).
"""

import datetime

from moto.core.utils import unix_time
from moto.events.models import Replay, ReplayState, events_backends
from moto.moto_api._internal import mock_random as random

from bus_policies import replay_refused
from delays import archived


def _seconds(value):
    """An event or window time as seconds since the epoch, whatever form moto kept."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    raise TypeError(f"not a time: {value!r}")


def replay_events(self, archive):
    backend = events_backends[self.account_id][self.region]
    bus = backend.describe_event_bus(self.destination["Arn"].split("/")[-1])
    wanted = self.destination.get("FilterArns") or None
    start, end = _seconds(self.event_start_time), _seconds(self.event_end_time)
    for event in archive.events:
        if not start <= _seconds(event["time"]) < end:
            continue
        if replay_refused(self.account_id, self.region, bus, event) or not archived(event):
            continue
        replayed = dict(event, **{"id": str(random.uuid4()), "replay-name": self.name})
        replayed.pop("ingestion-time", None)
        replayed.pop("stripe-bridge-archived-at", None)
        for rule in bus.rules.values():
            if wanted is None or rule.arn in wanted:
                # moto's transformer rebuilds the envelope without `replay-name`: use it
                # only where a target really transforms its input.
                transforms = any("InputTransformer" in target for target in rule.targets)
                rule.send_to_targets(replayed, transform_input=transforms)
    self.state = ReplayState.COMPLETED
    self.end_time = unix_time()
    self.event_last_replayed_time = self.event_end_time


def describe(self):
    result = original_describe(self)
    if getattr(self, "event_last_replayed_time", None) is not None:
        result["EventLastReplayedTime"] = self.event_last_replayed_time
    return result


original_describe = Replay.describe
Replay.replay_events = replay_events
Replay.describe = describe
