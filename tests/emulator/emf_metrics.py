"""CloudWatch's Embedded Metric Format for log events sent with PutLogEvents, which moto
5.2.5 stores as plain lines. CloudWatch Logs extracts the metrics of an EMF document only
when the PutLogEvents request carries the header `x-amzn-logs-format: json/emf`
("Using the PutLogEvents API to send manually-created embedded metric format logs",
CloudWatch User Guide); without it the same lines are stored and nothing is measured.

Here, as documented ("Specification: Embedded metric format"): each event whose message
is a JSON object with `_aws.CloudWatchMetrics` gives, for every metric directive and each
of its dimension sets, one datum per metric named in it, valued from the document's
member of that name (a number, or an array of numbers), with the dimensions' values from
the document's members, at `_aws.Timestamp` (ms), in the directive's namespace. A
document that breaks the specification is stored and measures nothing, as CloudWatch
does. Importing this module before the server starts installs it.
"""

import datetime
import json

from moto.cloudwatch.models import cloudwatch_backends
from moto.logs.responses import LogsResponse

FORMAT_HEADER = "x-amzn-logs-format"

_put_log_events = LogsResponse.put_log_events


def put_log_events(self):
    answer = _put_log_events(self)
    if (self.headers.get(FORMAT_HEADER) or "").lower() == "json/emf":
        backend = cloudwatch_backends[self.current_account][self.region]
        for event in self._get_param("logEvents") or []:
            for namespace, datum in metrics_of(event.get("message", "")):
                backend.put_metric_data(namespace, [datum])
    return answer


def metrics_of(message):
    try:
        document = json.loads(message)
        aws = document["_aws"]
        at = datetime.datetime.fromtimestamp(aws["Timestamp"] / 1000, datetime.timezone.utc).replace(tzinfo=None)
        directives = aws["CloudWatchMetrics"]
    except (ValueError, KeyError, TypeError):
        return []
    found = []
    for directive in directives:
        try:
            namespace = directive["Namespace"]
            dimension_sets = directive.get("Dimensions") or [[]]
            metrics = directive["Metrics"]
        except (KeyError, TypeError):
            continue
        for dimension_set in dimension_sets:
            if any(not isinstance(document.get(name), str) for name in dimension_set):
                continue
            dimensions = [{"Name": name, "Value": document[name]} for name in dimension_set]
            for metric in metrics:
                name = metric.get("Name")
                value = document.get(name)
                values = value if isinstance(value, list) else [value]
                numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
                if not numbers:
                    continue
                found.append(
                    (
                        namespace,
                        {
                            "MetricName": name,
                            "Dimensions": dimensions,
                            "Timestamp": at,
                            "Unit": metric.get("Unit"),
                            "Values": [float(n) for n in numbers],
                        },
                    )
                )
    return found


LogsResponse.put_log_events = put_log_events
