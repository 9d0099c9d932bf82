#!/usr/bin/env python3
"""Waits, polling with a deadline, until the emulator at ENDPOINT has settled: until every
change made on it has taken effect after its compressed propagation delay (delays.py),
as a person waits out AWS's.

    settle.py ENDPOINT
"""

import json
import sys
import time
import urllib.request

deadline = time.time() + 30
while json.load(urllib.request.urlopen(f"{sys.argv[1]}/moto-api/stripe-bridge/settled"))["pending"]:
    if time.time() > deadline:
        sys.exit("the emulator did not settle within 30 s")
    time.sleep(0.05)
