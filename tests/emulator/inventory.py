#!/usr/bin/env python3
"""Lists what the AWS emulator holds, in every service stripe-bridge touches, as JSON:

    inventory.py ENDPOINT
    inventory.py aws          (real AWS, with the credentials and region of the environment)

{"service kind": ["name or ARN", ...], ...}, plus the resource policies of queues,
topics and functions (a permission stripe-bridge granted is a thing it made, too).
The tests use it to prove that `remove` leaves nothing behind; the demo prints it.
"""

import json
import sys

import boto3
from botocore.exceptions import ClientError


def main():
    endpoint = sys.argv[1]
    if endpoint == "aws":
        endpoint = None
        session = boto3.session.Session()
    else:
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )

    def client(service):
        return session.client(service, endpoint_url=endpoint)

    cfn, s3, lam, iam = client("cloudformation"), client("s3"), client("lambda"), client("iam")
    logs, apigw, sm, sns = client("logs"), client("apigatewayv2"), client("secretsmanager"), client("sns")
    events, sqs, kms, cloudwatch = client("events"), client("sqs"), client("kms"), client("cloudwatch")

    buses = [b["Name"] for b in events.list_event_buses()["EventBuses"]]
    queues = sqs.list_queues().get("QueueUrls", [])
    functions = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    topics = [t["TopicArn"] for t in sns.list_topics()["Topics"]]

    def unless_gone(read):
        """What `read()` returns, or "" if the resource went meanwhile (other tests run
        beside this one) or has no policy."""
        try:
            return read()
        except ClientError:
            return ""

    inventory = {
        "cloudformation stacks": [
            s["StackName"] for s in cfn.describe_stacks()["Stacks"] if s["StackStatus"] != "DELETE_COMPLETE"
        ],
        "s3 buckets": [b["Name"] for b in s3.list_buckets()["Buckets"]],
        "lambda functions": functions,
        "iam roles": [r["RoleName"] for r in iam.list_roles()["Roles"]],
        "logs log groups": [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]],
        "apigateway apis": [a["Name"] for a in apigw.get_apis()["Items"]],
        "secretsmanager secrets": [s["Name"] for s in sm.list_secrets()["SecretList"]],
        "sns topics": topics,
        "sns subscriptions": [s["SubscriptionArn"] for s in sns.list_subscriptions()["Subscriptions"]],
        "eventbridge buses": buses,
        "eventbridge rules": [
            f'{bus}/{name}'
            for bus in buses
            for name in (unless_gone(lambda: [r["Name"] for r in events.list_rules(EventBusName=bus)["Rules"]]) or [])
        ],
        "eventbridge archives": [a["ArchiveName"] for a in events.list_archives()["Archives"]],
        # Replays cannot be deleted, only cancelled: one still running is left behind.
        "eventbridge running replays": [
            r["ReplayName"] for r in events.list_replays()["Replays"] if r["State"] in ("STARTING", "RUNNING")
        ],
        "cloudwatch alarms": [a["AlarmName"] for a in cloudwatch.describe_alarms()["MetricAlarms"]],
        # A key cannot be deleted at once, only scheduled for deletion (7 days at least).
        "kms keys": [
            f'{k["KeyId"]} {meta["Description"]}'
            for k in kms.list_keys()["Keys"]
            for meta in [kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]]
            if meta["KeyState"] != "PendingDeletion"
        ],
        "kms aliases": [a["AliasName"] for a in kms.list_aliases()["Aliases"] if not a["AliasName"].startswith("alias/aws/")],
        "sqs queues": queues,
        "sqs queue policies": [
            unless_gone(
                lambda: sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["Policy"])
                .get("Attributes", {})
                .get("Policy", "")
            )
            for q in queues
        ],
        "sns topic policies": [
            unless_gone(lambda: sns.get_topic_attributes(TopicArn=t)["Attributes"].get("Policy", ""))
            for t in topics
        ],
        "lambda function policies": [unless_gone(lambda: lam.get_policy(FunctionName=f)["Policy"]) for f in functions],
    }
    json.dump(inventory, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
