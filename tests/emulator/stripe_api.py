#!/usr/bin/env python3
"""A stateful emulator of the parts of Stripe's API that stripe-bridge calls, on
127.0.0.1 only, with the Python standard library alone.

    stripe_api.py PORT [--retry-delays 0.3,0.6,1.2] [--disable-after 4] [--page-size N]

It prints `listening on 127.0.0.1:PORT` once it answers (PORT 0 picks a free port), and
stops when its standard input closes, like moto_server.py.

What it follows, from Stripe's API reference (https://docs.stripe.com/api):
- Webhook endpoints: create (`url`, `enabled_events[]`, `connect`, `api_version`,
  `description`, `metadata[...]`) answers with the endpoint's `secret`, and no other
  answer ever holds it; retrieve, update (`url`, `enabled_events`, `disabled`,
  `description`, `metadata`), delete, list. At most 16 endpoints per account, as
  Stripe limits them. Without `api_version` the account's default applies.
- Events: list (newest first; `created` as a number or `created[gte|gt|lte|lt]`,
  `delivery_success`, `type`, `types[]`, `limit` up to 100, `starting_after`,
  `ending_before`), retrieve, and `POST /v1/events/{id}/retry` with `webhook_endpoint`:
  the call the Stripe CLI's `events resend` makes (it is in no SDK). `Stripe-Account`
  selects a connected account's events.
- Requests are form-encoded, lists as `a[0]=x` or `a[]=x`, maps as `m[k]=v`; the key
  goes as `Authorization: Bearer sk_…` or as HTTP Basic's user. Errors answer 4xx with
  `{"error": {"type", "code", "message", "param"}}`.
- Deliveries: an event is POSTed, signed (`Stripe-Signature: t=…,v1=…`, HMAC-SHA256 of
  `t.body` with the endpoint's secret), to every enabled endpoint whose
  `enabled_events` take it (`*` takes all); a `connect` endpoint takes connected
  accounts' events only, any other endpoint the account's own. A non-2xx answer (or
  none) is retried on a compressed schedule (Stripe's: up to 3 days); an endpoint
  failing for longer than --disable-after seconds without a success is disabled, as
  Stripe disables one that fails for days. `delivery_success=false` keeps events with
  a delivery still pending or failed; `pending_webhooks` counts the endpoints, still
  there, that have not taken it.

Controls for tests, under /_emulator/ (no key needed):
- `POST /_emulator/events` {"type", "account"?, "object"?}: Stripe makes an event.
- `POST /_emulator/route` {"from": URL prefix, "to": URL prefix}: deliveries to a URL
  starting with `from` go to `to` instead (so the bridge's API Gateway URL reaches
  `dev` on 127.0.0.1). Nothing is ever sent beyond loopback: a delivery to any other
  host counts as one that got no answer.
- `POST /_emulator/roll-secret` {"endpoint"}: the Dashboard's "Roll secret": the
  endpoint signs with a new secret from now on, which no answer shows.
- `GET /_emulator/requests`: every API request, decoded: method, path, the form's
  fields as flat `key=value` pairs, and which headers came (never the key itself).
- `GET /_emulator/deliveries`: every delivery attempt and its answer.
- `GET /_emulator/secrets`: every endpoint's secret ever made, for tests that check
  no output shows one.
"""

import base64
import hashlib
import heapq
import hmac
import json
import os
import secrets
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_ENDPOINTS = 16
DEFAULT_API_VERSION = "2026-10-28.endive"
HERE = os.path.dirname(os.path.abspath(__file__))
EVENT_TYPES_FILE = os.path.join(HERE, "..", "..", "src", "stripe", "stripe_event_types.txt")


def known_event_types():
    with open(EVENT_TYPES_FILE) as f:
        return {line.strip() for line in f if line.strip() and not line.startswith("#")}


class StripeError(Exception):
    def __init__(self, status, message, code=None, param=None, kind="invalid_request_error"):
        super().__init__(message)
        self.status, self.message, self.code, self.param, self.kind = status, message, code, param, kind

    def body(self):
        error = {"type": self.kind, "message": self.message}
        if self.code:
            error["code"] = self.code
        if self.param:
            error["param"] = self.param
        return {"error": error}


def decode_form(text):
    """Stripe's form encoding into nested dicts and lists: `a[0]=x`, `a[]=x`, `m[k]=v`."""
    root = {}
    for key, value in urllib.parse.parse_qsl(text, keep_blank_values=True):
        parts = [key.split("[", 1)[0]] + [p.rstrip("]") for p in key.split("[")[1:]]
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt = None if last else parts[i + 1]
            is_list = nxt is not None and (nxt == "" or nxt.isdigit())
            if isinstance(node, list):
                index = len(node) if part == "" else int(part)
                while len(node) <= index:
                    node.append(None)
                if last:
                    node[index] = value
                else:
                    if node[index] is None:
                        node[index] = [] if is_list else {}
                    node = node[index]
            else:
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, [] if is_list else {})
    return root


def flat_fields(text):
    """The form's fields as `key=value` strings, list indexes dropped (`a[0]` and `a[]`
    are the same field to Stripe), sorted: what two clients' requests are compared on."""
    fields = []
    for key, value in urllib.parse.parse_qsl(text, keep_blank_values=True):
        parts = key.split("[")
        norm = parts[0] + "".join("[]" if p.rstrip("]").isdigit() or p == "]" else "[" + p for p in parts[1:])
        fields.append(f"{norm}={value}")
    return sorted(fields)


def truthy(value):
    return str(value).lower() == "true"


class Stripe:
    def __init__(self, retry_delays, disable_after, page_size=100):
        self.page_size = page_size
        self.lock = threading.Lock()
        self.retry_delays = retry_delays
        self.disable_after = disable_after
        self.types = known_event_types()
        self.reset()
        self.wake = threading.Condition(self.lock)
        threading.Thread(target=self.deliver_forever, daemon=True).start()

    def reset(self):
        self.endpoints = {}
        self.events = []
        self.requests = []
        self.deliveries = []
        self.routes = []
        self.secrets_made = []
        self.queue = []  # (when, seq, event id, endpoint id, attempt, manual)
        self.seq = 0
        self.pending = {}  # event id -> set of endpoint ids not yet delivered
        self.failing_since = {}  # endpoint id -> time of the first failure in a row

    # ---- webhook endpoints ----
    def check_events(self, events, param="enabled_events"):
        if not isinstance(events, list) or not events:
            raise StripeError(400, "Missing required param: enabled_events.", "parameter_missing", param)
        for event_type in events:
            if event_type != "*" and event_type not in self.types:
                raise StripeError(400, f"Invalid {param}[]: must be one of the event types Stripe sends; got {event_type}", "parameter_invalid_string", param)

    def create_endpoint(self, form):
        url = form.get("url")
        if not url:
            raise StripeError(400, "Missing required param: url.", "parameter_missing", "url")
        self.check_events(form.get("enabled_events"))
        if len(self.endpoints) >= MAX_ENDPOINTS:
            raise StripeError(400, f"You have reached the maximum of {MAX_ENDPOINTS} test webhook endpoints.", "webhook_endpoints_limit")
        secret = "whsec_" + secrets.token_hex(16)
        self.secrets_made.append(secret)
        endpoint = {
            "id": "we_" + secrets.token_hex(12),
            "object": "webhook_endpoint",
            "api_version": form.get("api_version"),
            "application": None,
            "created": int(time.time()),
            "description": form.get("description") or None,
            "enabled_events": form["enabled_events"],
            "livemode": False,
            "metadata": dict(form.get("metadata") or {}),
            "status": "enabled",
            "url": url,
            "_connect": truthy(form.get("connect", "false")),
            "_secret": secret,
        }
        self.endpoints[endpoint["id"]] = endpoint
        return dict(self.public(endpoint), secret=secret)

    def endpoint(self, endpoint_id):
        if endpoint_id not in self.endpoints:
            raise StripeError(404, f"No such webhook endpoint: '{endpoint_id}'", "resource_missing", "id")
        return self.endpoints[endpoint_id]

    def update_endpoint(self, endpoint_id, form):
        endpoint = self.endpoint(endpoint_id)
        if "enabled_events" in form:
            self.check_events(form["enabled_events"])
            endpoint["enabled_events"] = form["enabled_events"]
        if "url" in form:
            endpoint["url"] = form["url"]
        if "description" in form:
            endpoint["description"] = form["description"] or None
        if "metadata" in form:
            metadata = form["metadata"]
            if metadata == "":
                endpoint["metadata"] = {}
            else:
                for key, value in metadata.items():
                    if value == "":
                        endpoint["metadata"].pop(key, None)
                    else:
                        endpoint["metadata"][key] = value
        if "disabled" in form:
            endpoint["status"] = "disabled" if truthy(form["disabled"]) else "enabled"
            self.failing_since.pop(endpoint_id, None)
        return self.public(endpoint)

    @staticmethod
    def public(endpoint):
        return {k: v for k, v in endpoint.items() if not k.startswith("_")}

    # ---- events ----
    def create_event(self, event_type, account=None, data_object=None):
        now = int(time.time())
        event = {
            "id": "evt_" + secrets.token_hex(12),
            "object": "event",
            "api_version": DEFAULT_API_VERSION,
            "created": now,
            "data": {"object": data_object or {"id": "obj_" + secrets.token_hex(6), "object": event_type.split(".")[0]}},
            "livemode": False,
            "pending_webhooks": 0,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        if account:
            event["account"] = account
        targets = [e for e in self.endpoints.values() if self.takes(e, event)]
        self.pending[event["id"]] = {e["id"] for e in targets}
        event["pending_webhooks"] = len(targets)
        self.events.insert(0, event)
        for endpoint in targets:
            self.schedule(0, event["id"], endpoint["id"], 0, manual=False)
        return event

    @staticmethod
    def takes(endpoint, event):
        if endpoint["status"] != "enabled":
            return False
        if endpoint["_connect"] != ("account" in event):
            return False
        return "*" in endpoint["enabled_events"] or event["type"] in endpoint["enabled_events"]

    def find_event(self, event_id, account):
        for event in self.events:
            if event["id"] == event_id and event.get("account") == account:
                return event
        raise StripeError(404, f"No such event: '{event_id}'", "resource_missing", "id")

    def list_events(self, query, account):
        events = [e for e in self.events if e.get("account") == account]
        created = query.get("created")
        if isinstance(created, dict):
            ops = {"gte": lambda a, b: a >= b, "gt": lambda a, b: a > b, "lte": lambda a, b: a <= b, "lt": lambda a, b: a < b}
            for op, bound in created.items():
                if op not in ops:
                    raise StripeError(400, f"Invalid created[{op}]", "parameter_unknown", f"created[{op}]")
                events = [e for e in events if ops[op](e["created"], int(bound))]
        elif created is not None:
            events = [e for e in events if e["created"] == int(created)]
        if "delivery_success" in query:
            # "If false, events which are still pending or did not succeed."
            wanted = truthy(query["delivery_success"])
            events = [e for e in events if (not self.pending.get(e["id"])) == wanted]
        if "type" in query:
            events = [e for e in events if e["type"] == query["type"]]
        if "types" in query:
            events = [e for e in events if e["type"] in query["types"]]
        return self.page(events, query, "/v1/events")

    def page(self, items, query, url):
        limit = int(query.get("limit", 10))
        if not 1 <= limit <= 100:
            raise StripeError(400, "Invalid limit: must be between 1 and 100", "parameter_invalid_integer", "limit")
        # --page-size: fewer than asked for per page, so a test with a few objects sees
        # its client follow `has_more` (Stripe's pages are up to `limit`).
        limit = min(limit, self.page_size)
        ids = [i["id"] for i in items]
        if "starting_after" in query:
            cursor = query["starting_after"]
            if cursor not in ids:
                raise StripeError(400, f"No such object: '{cursor}'", "resource_missing", "starting_after")
            items = items[ids.index(cursor) + 1:]
        elif "ending_before" in query:
            cursor = query["ending_before"]
            if cursor not in ids:
                raise StripeError(400, f"No such object: '{cursor}'", "resource_missing", "ending_before")
            items = items[:ids.index(cursor)][-limit:]
        return {"object": "list", "data": items[:limit], "has_more": len(items) > limit, "url": url}

    def retry(self, event_id, form, account):
        event = self.find_event(event_id, account)
        endpoint_id = form.get("webhook_endpoint")
        if not endpoint_id:
            raise StripeError(400, "Missing required param: webhook_endpoint.", "parameter_missing", "webhook_endpoint")
        endpoint = self.endpoint(endpoint_id)
        if endpoint["status"] != "enabled":
            raise StripeError(400, f"The webhook endpoint {endpoint_id} is disabled: enable it before resending events to it.", "webhook_endpoint_disabled", "webhook_endpoint")
        self.schedule(0, event_id, endpoint_id, 0, manual=True)
        return event

    # ---- deliveries ----
    def schedule(self, delay, event_id, endpoint_id, attempt, manual):
        self.seq += 1
        heapq.heappush(self.queue, (time.time() + delay, self.seq, event_id, endpoint_id, attempt, manual))
        if hasattr(self, "wake"):
            self.wake.notify_all()

    def deliver_forever(self):
        while True:
            with self.lock:
                while not self.queue or self.queue[0][0] > time.time():
                    self.wake.wait(timeout=(self.queue[0][0] - time.time()) if self.queue else None)
                _, _, event_id, endpoint_id, attempt, manual = heapq.heappop(self.queue)
                endpoint = self.endpoints.get(endpoint_id)
                event = next((e for e in self.events if e["id"] == event_id), None)
                if endpoint is None or event is None or endpoint["status"] != "enabled":
                    continue
                url = self.routed(endpoint["url"])
                secret = endpoint["_secret"]
            body = json.dumps(event).encode()
            stamp = int(time.time())
            mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
            status = self.post(url, body, f"t={stamp},v1={mac}")
            with self.lock:
                ok = status is not None and 200 <= status < 300
                self.deliveries.append({"event": event_id, "endpoint": endpoint_id, "url": url, "attempt": attempt, "manual": manual, "status": status, "at": time.time()})
                pending = self.pending.get(event_id, set())
                if ok:
                    pending.discard(endpoint_id)
                    self.failing_since.pop(endpoint_id, None)
                else:
                    pending.add(endpoint_id)
                    first = self.failing_since.setdefault(endpoint_id, time.time())
                    if time.time() - first > self.disable_after:
                        endpoint["status"] = "disabled"
                    elif not manual and attempt < len(self.retry_delays):
                        self.schedule(self.retry_delays[attempt], event_id, endpoint_id, attempt + 1, manual=False)
                self.count_pending(event)

    def count_pending(self, event):
        """`pending_webhooks`: the endpoints still there that have not taken it."""
        pending = self.pending.get(event["id"], set())
        event["pending_webhooks"] = len([e for e in pending if e in self.endpoints])

    def routed(self, url):
        for prefix, to in self.routes:
            if url.startswith(prefix):
                return to + url[len(prefix):]
        return url

    @staticmethod
    def post(url, body, signature):
        # Tests send nothing beyond this machine: a URL not on loopback (an API Gateway
        # URL no route was given for) counts as an endpoint that did not answer.
        if urllib.parse.urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
            return None
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": signature,
        })
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status
        except urllib.error.HTTPError as e:
            return e.code
        except Exception:
            return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    stripe = None  # set in main

    def log_message(self, *args):
        pass

    def answer(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Request-Id", "req_" + secrets.token_hex(7))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def handle_any(self, method):
        parsed = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        stripe = self.stripe
        try:
            if parsed.path.startswith("/_emulator/"):
                with stripe.lock:
                    self.answer(200, self.control(method, parsed.path, raw))
                return
            self.authenticate()
            text = parsed.query if method in ("GET", "DELETE") else raw
            form = decode_form(text)
            account = self.headers.get("Stripe-Account")
            with stripe.lock:
                stripe.requests.append({
                    "method": method,
                    "path": parsed.path,
                    "fields": flat_fields(text),
                    "form": json.loads(json.dumps(form)),
                    "stripe_account": account,
                    "stripe_version": self.headers.get("Stripe-Version"),
                    "idempotency_key": self.headers.get("Idempotency-Key") is not None,
                    "content_type": self.headers.get("Content-Type"),
                    "user_agent": self.headers.get("User-Agent"),
                })
                self.answer(200, self.route(method, parsed.path.rstrip("/"), form, account))
        except StripeError as e:
            self.answer(e.status, e.body())

    def authenticate(self):
        header = self.headers.get("Authorization", "")
        key = ""
        if header.startswith("Bearer "):
            key = header[len("Bearer "):]
        elif header.startswith("Basic "):
            key = base64.b64decode(header[len("Basic "):]).decode().split(":", 1)[0]
        if not key:
            raise StripeError(401, "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').")
        if not key.startswith(("sk_test_", "rk_test_")) or key.endswith("_revoked"):
            raise StripeError(401, f"Invalid API Key provided: {key[:8]}{'*' * 12}{key[-4:]}", "api_key_invalid")

    def route(self, method, path, form, account):
        stripe = self.stripe
        parts = path.strip("/").split("/")
        if parts[:2] == ["v1", "webhook_endpoints"]:
            if len(parts) == 2 and method == "POST":
                return stripe.create_endpoint(form)
            if len(parts) == 2 and method == "GET":
                endpoints = sorted(stripe.endpoints.values(), key=lambda e: -e["created"])
                return stripe.page([stripe.public(e) for e in endpoints], form, "/v1/webhook_endpoints")
            if len(parts) == 3 and method == "GET":
                return stripe.public(stripe.endpoint(parts[2]))
            if len(parts) == 3 and method == "POST":
                return stripe.update_endpoint(parts[2], form)
            if len(parts) == 3 and method == "DELETE":
                stripe.endpoint(parts[2])
                del stripe.endpoints[parts[2]]
                # A deleted endpoint is sent nothing more: no event waits on it
                # (`pending_webhooks`), but an event it never took still "did not
                # succeed", so `delivery_success=false` keeps listing it. (The reference
                # does not say what deletion does; this reads both fields' definitions.)
                for event in stripe.events:
                    stripe.count_pending(event)
                return {"id": parts[2], "object": "webhook_endpoint", "deleted": True}
        if parts[:2] == ["v1", "events"]:
            if len(parts) == 2 and method == "GET":
                return stripe.list_events(form, account)
            if len(parts) == 3 and method == "GET":
                return stripe.find_event(parts[2], account)
            if len(parts) == 4 and parts[3] == "retry" and method == "POST":
                return stripe.retry(parts[2], form, account)
        raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")

    def control(self, method, path, raw):
        stripe = self.stripe
        body = json.loads(raw) if raw else {}
        if path == "/_emulator/events" and method == "POST":
            return stripe.create_event(body["type"], body.get("account"), body.get("object"))
        if path == "/_emulator/route" and method == "POST":
            stripe.routes.append((body["from"], body["to"]))
            return {"routes": stripe.routes}
        if path == "/_emulator/roll-secret" and method == "POST":
            # What the Dashboard's "Roll secret" does (with no time for the old one):
            # the endpoint signs with a new secret, which the API never shows.
            endpoint = stripe.endpoint(body["endpoint"])
            endpoint["_secret"] = "whsec_" + secrets.token_hex(16)
            stripe.secrets_made.append(endpoint["_secret"])
            return {}
        if path == "/_emulator/requests":
            return {"requests": stripe.requests}
        if path == "/_emulator/deliveries":
            return {"deliveries": stripe.deliveries}
        if path == "/_emulator/secrets":
            return {"secrets": stripe.secrets_made}
        if path == "/_emulator/endpoints":
            return {"endpoints": [dict(stripe.public(e), connect=e["_connect"]) for e in stripe.endpoints.values()]}
        if path == "/_emulator/reset" and method == "POST":
            stripe.reset()
            return {}
        raise StripeError(404, f"no control {method} {path}")


def main():
    args = sys.argv[1:]
    port = int(args[0])
    delays, disable_after = [0.3, 0.6, 1.2], 4.0
    if "--retry-delays" in args:
        delays = [float(d) for d in args[args.index("--retry-delays") + 1].split(",")]
    if "--disable-after" in args:
        disable_after = float(args[args.index("--disable-after") + 1])
    page_size = int(args[args.index("--page-size") + 1]) if "--page-size" in args else 100
    Handler.stripe = Stripe(delays, disable_after, page_size)
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"listening on 127.0.0.1:{server.server_address[1]}", flush=True)

    def exit_when_stdin_closes():
        sys.stdin.buffer.read()
        os._exit(0)

    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
