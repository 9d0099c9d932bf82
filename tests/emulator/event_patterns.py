"""EventBridge's TestEventPattern, which moto 5.2.5 leaves unimplemented (its response
handler returns nothing): answered with moto's own pattern matcher, the one its rules
use, as AWS documents the call (EventPattern and Event in, `{"Result": bool}` out).
Importing this module before the server starts installs it.
"""

import json

from moto.events.models import EventPattern
from moto.events.responses import EventsHandler


def test_event_pattern(self):
    pattern = EventPattern.load(self._get_param("EventPattern"))
    event = json.loads(self._get_param("Event"))
    return json.dumps({"Result": bool(pattern.matches_event(event))})


EventsHandler.test_event_pattern = test_event_pattern
