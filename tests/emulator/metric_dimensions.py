"""GetMetricStatistics on exactly the dimensions asked for. moto 5.2.5 also counts the
data points of every metric whose dimensions merely include them, so the Lambda's
`EventsRelayed` (dimension Bridge) would be summed with a local relay's (Bridge and
Relay), which CloudWatch keeps apart: "CloudWatch treats each unique combination of
dimensions as a separate metric. If a specific combination of dimensions was not
published, you can't retrieve statistics for it" (GetMetricStatistics, CloudWatch API
Reference, Dimensions). That is also what keeps a `dev` session out of the stack's alarms,
which name the bridge's dimension alone. Importing this module before the server starts
installs it.
"""

import threading

from moto.cloudwatch.models import CloudWatchBackend

_get_metric_statistics = CloudWatchBackend.get_metric_statistics
# The server answers on several threads; the narrowed view below is per call.
_lock = threading.Lock()


def get_metric_statistics(self, namespace, metric_name, start_time, end_time, period, stats, dimensions, unit=None):
    wanted = sorted((d["Name"], d.get("Value")) for d in dimensions or [])
    everything = CloudWatchBackend.get_all_metrics.__get__(self)
    with _lock:
        self.get_all_metrics = lambda: [
            datum for datum in everything() if sorted((d.name, d.value) for d in datum.dimensions) == wanted
        ]
        try:
            return _get_metric_statistics(
                self, namespace, metric_name, start_time, end_time, period, stats, dimensions, unit
            )
        finally:
            del self.get_all_metrics


CloudWatchBackend.get_metric_statistics = get_metric_statistics
