"""Email subscriptions wait for their confirmation. moto 5.2.5 confirms every
subscription at once; SNS confirms an email or email-json one only when its recipient
follows the link in the mail it sends, and until then lists it with the SubscriptionArn
`PendingConfirmation` and delivers it nothing ("Subscribe", Amazon SNS API Reference:
"If the endpoint type is HTTP/S or email ... the endpoint owner must run the
ConfirmSubscription action to confirm the subscription"). So `deploy --notify-email` gives
a topic that nobody hears until the mail is answered, as on AWS.

`POST /moto-api/stripe-bridge/confirm-subscriptions?endpoint=ADDRESS` is the recipient
following the link. Importing this module before the server starts installs it.
"""

import copy
import json
from urllib.parse import parse_qs, urlparse

from moto.moto_api._internal import urls as moto_api_urls
from moto.sns.models import SNSBackend

PENDING = "PendingConfirmation"
NEEDS_CONFIRMATION = ("email", "email-json")
# The ARNs of the subscriptions not confirmed yet.
_pending = set()

_subscribe = SNSBackend.subscribe
_list_by_topic = SNSBackend.list_subscriptions_by_topic
_list = SNSBackend.list_subscriptions


def subscribe(self, topic_arn, endpoint, protocol):
    subscription = _subscribe(self, topic_arn, endpoint, protocol)
    if protocol in NEEDS_CONFIRMATION:
        _pending.add(subscription.arn)
    return subscription


def as_listed(subscriptions):
    listed = []
    for subscription in subscriptions:
        if subscription.arn in _pending:
            subscription = copy.copy(subscription)
            subscription.arn = PENDING
        listed.append(subscription)
    return listed


def list_subscriptions_by_topic(self, topic_arn, next_token=None):
    subscriptions, token = _list_by_topic(self, topic_arn, next_token=next_token)
    return as_listed(subscriptions), token


def list_subscriptions(self, next_token=None):
    subscriptions, token = _list(self, next_token=next_token)
    return as_listed(subscriptions), token


def confirm_response(request, full_url, headers):
    endpoint = parse_qs(urlparse(full_url).query).get("endpoint", [""])[0]
    from moto.sns.models import sns_backends

    confirmed = 0
    for account in sns_backends.values():
        for backend in account.values():
            for subscription in backend.subscriptions.values():
                if subscription.endpoint == endpoint and subscription.arn in _pending:
                    _pending.discard(subscription.arn)
                    confirmed += 1
    return 200, {}, json.dumps({"confirmed": confirmed})


SNSBackend.subscribe = subscribe
SNSBackend.list_subscriptions_by_topic = list_subscriptions_by_topic
SNSBackend.list_subscriptions = list_subscriptions
moto_api_urls.url_paths["{0}/moto-api/stripe-bridge/confirm-subscriptions$"] = confirm_response
