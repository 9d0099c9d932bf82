#!/usr/bin/env python3
"""Runs moto's AWS emulator for stripe-bridge's tests, on 127.0.0.1 only.

    moto_server.py PORT

It adds CloudFormation support for the resource types moto lacks (cfn_models.py),
EventBridge's TestEventPattern (event_patterns.py), replays that honour their time
window and rules as AWS documents them (replays.py), Lambda's GetAccountSettings
(lambda_settings.py), CloudWatch's answers in the CBOR the SDKs ask for
(cbor_responses.py), IAM enforcement as AWS authorises S3's HeadBucket and Lambda
(iam_enforcement.py), EventBridge's bus policies on PutEvents and replays
(bus_policies.py), deliveries to queues that their policies allow, and dead letters for
the rest (queue_deliveries.py), AWS's propagation delays, compressed (delays.py), and
change sets that go when their stack is updated (change_sets.py); and it records the
actions the CLI calls (call_log.py).
It stops when its standard input closes, so a test process that dies, however it
dies, takes its emulator with it. The moto version is pinned where it is installed
(tests/run.sh); this launcher is written against moto 5.2.5.
"""

import os
import sys
import threading


def exit_when_stdin_closes():
    sys.stdin.buffer.read()
    os._exit(0)


def main():
    port = sys.argv[1]
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    # Registers the CloudFormation resource types moto lacks; must precede the server.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import cfn_models  # noqa: F401
    import bus_policies  # noqa: F401
    import call_log  # noqa: F401
    import change_sets  # noqa: F401
    import cbor_responses  # noqa: F401
    import event_patterns  # noqa: F401
    import log_filters  # noqa: F401
    import emf_metrics  # noqa: F401
    import metric_dimensions  # noqa: F401
    import subscription_confirmations  # noqa: F401
    import dashboards  # noqa: F401
    import iam_enforcement  # noqa: F401
    import delays  # noqa: F401
    import lambda_settings  # noqa: F401
    import queue_deliveries  # noqa: F401
    import replays  # noqa: F401
    from moto.server import main as moto_main

    moto_main(["-H", "127.0.0.1", "-p", port])


if __name__ == "__main__":
    main()
