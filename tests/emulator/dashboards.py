"""A dashboard's body must be JSON with a `widgets` list, whichever way it arrives. moto
5.2.5 checks that on PutDashboard but not when CloudFormation makes an
AWS::CloudWatch::Dashboard, where CloudWatch refuses it the same: "DashboardBody: The
detailed information about the dashboard in JSON format ... at least one widget"
(PutDashboard, CloudWatch API Reference; `InvalidParameterInput`), and the stack fails.
Importing this module before the server starts installs it.
"""

import json

from moto.cloudwatch.exceptions import DashboardInvalidInputError
from moto.cloudwatch.models import CloudWatchBackend

_put_dashboard = CloudWatchBackend.put_dashboard


def put_dashboard(self, name, body):
    try:
        widgets = json.loads(body).get("widgets")
    except (ValueError, AttributeError):
        raise DashboardInvalidInputError("Body is invalid JSON")
    if not isinstance(widgets, list) or not widgets:
        raise DashboardInvalidInputError("The dashboard body must have at least one widget")
    return _put_dashboard(self, name, body)


CloudWatchBackend.put_dashboard = put_dashboard
