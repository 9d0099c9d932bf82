"""Three moto 5.2.5 faults that only show when it enforces IAM (INITIAL_NO_AUTH_ACTION_COUNT),
mended so that the deployer-policy test checks what AWS checks:

- S3's HeadBucket is authorised as the action `s3:HeadBucket`, which IAM does not have:
  AWS authorises it as `s3:ListBucket` ("HeadBucket", Amazon S3 API Reference:
  "To use this operation, you must have permissions to perform the s3:ListBucket
  action").
- Correctly signed requests are refused as SignatureDoesNotMatch: every Lambda request
  (boto3's as well as the Rust SDK's), and a CloudFormation CreateChangeSet that carries
  the bridge's template in its body: moto 5.2.5 computes another signature for them.
  Signatures are not what these tests prove, so none is checked; the caller's
  access key, its identity and its policies still are.
- An action is named with the service's signing name, which for CloudWatch is
  `monitoring`: IAM's prefix is `cloudwatch` ("Actions, resources, and condition keys
  for Amazon CloudWatch", Service Authorization Reference).

Importing this module before the server starts installs all three.
"""

from moto.iam.access_control import IAMRequest
from moto.s3 import responses as s3_responses

s3_responses.ACTION_MAP["BUCKET"]["HEAD"]["DEFAULT"] = "ListBucket"


def check_signature(self):
    pass


IAMRequest.check_signature = check_signature

_init = IAMRequest.__init__


def __init__(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    if self._action.startswith("monitoring:"):
        self._action = "cloudwatch:" + self._action.split(":", 1)[1]


IAMRequest.__init__ = __init__
