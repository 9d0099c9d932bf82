"""CloudWatch Logs filter patterns over JSON log events, for FilterLogEvents. moto 5.2.5
matches plain terms only: any other pattern, `{ $.status >= 300 }` included, matches
every event, so a test could never see a filter that selects nothing.

Implemented as "Using filter patterns to match terms in JSON log events" (CloudWatch
Logs User Guide) documents them, for what stripe-bridge sends: `{ SELECTOR OP VALUE }`
with selectors `$.a.b`, string values quoted or bare with `*` as a wildcard (`=` and
`!=`), numbers with `=`, `!=`, `<`, `<=`, `>`, `>=`, `IS NULL`, `NOT EXISTS`, `IS TRUE`
and `IS FALSE`, joined by `&&` and `||` and grouped with parentheses. An event whose
message is not a JSON object never matches a JSON pattern, and a selector that names no
field matches nothing but `NOT EXISTS`. Importing this module before the server starts
installs it.
"""

import fnmatch
import json
import re

import moto.logs.models
from moto.logs.utils import EventMessageFilter

TOKEN = re.compile(
    r"""\s*(?:
        (?P<group>[()])
      | (?P<join>&&|\|\|)
      | (?P<op>!=|<=|>=|=|<|>)
      | (?P<keyword>IS\s+NULL|NOT\s+EXISTS|IS\s+TRUE|IS\s+FALSE)
      | (?P<selector>\$(?:\.[A-Za-z0-9_\-]+)+)
      | (?P<quoted>"(?:[^"\\]|\\.)*")
      | (?P<bare>[^\s()&|=!<>"]+)
    )""",
    re.VERBOSE,
)

MISSING = object()


def tokens(text):
    position, out = 0, []
    text = text.strip()
    while position < len(text):
        match = TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ValueError(f"invalid filter pattern at {text[position:]!r}")
        kind = match.lastgroup
        out.append((kind, match.group(kind)))
        position = match.end()
    return out


class Parser:
    def __init__(self, text):
        self.tokens = tokens(text)
        self.at = 0

    def peek(self):
        return self.tokens[self.at] if self.at < len(self.tokens) else (None, None)

    def take(self):
        token = self.peek()
        self.at += 1
        return token

    def expression(self):
        left = self.term()
        while self.peek() == ("join", "||"):
            self.take()
            right = self.term()
            left = (lambda a, b: lambda event: a(event) or b(event))(left, right)
        return left

    def term(self):
        left = self.factor()
        while self.peek() == ("join", "&&"):
            self.take()
            right = self.factor()
            left = (lambda a, b: lambda event: a(event) and b(event))(left, right)
        return left

    def factor(self):
        kind, text = self.take()
        if (kind, text) == ("group", "("):
            inner = self.expression()
            if self.take() != ("group", ")"):
                raise ValueError("unbalanced parentheses")
            return inner
        if kind != "selector":
            raise ValueError(f"expected a selector, found {text!r}")
        path = text[2:].split(".")
        kind, op = self.take()
        if kind == "keyword":
            keyword = " ".join(op.split())
            return lambda event: keyword_matches(select(event, path), keyword)
        if kind != "op":
            raise ValueError(f"expected an operator after {text}, found {op!r}")
        kind, value = self.take()
        if kind == "quoted":
            expected = json.loads(value)
        elif kind == "bare":
            expected = value
        else:
            raise ValueError(f"expected a value after {op}")
        return lambda event: compare(select(event, path), op, expected, kind == "quoted")


def select(event, path):
    value = event
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return MISSING
        value = value[key]
    return value


def keyword_matches(value, keyword):
    if keyword == "NOT EXISTS":
        return value is MISSING
    if keyword == "IS NULL":
        return value is None
    return value is (keyword == "IS TRUE")


def compare(value, op, expected, quoted):
    if value is MISSING or value is None or isinstance(value, (dict, list)):
        return False
    number = None if quoted else as_number(expected)
    if number is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
        return {
            "=": value == number,
            "!=": value != number,
            "<": value < number,
            "<=": value <= number,
            ">": value > number,
            ">=": value >= number,
        }[op]
    if op not in ("=", "!="):
        return False
    text = json.dumps(value) if isinstance(value, bool) else str(value)
    matched = fnmatch.fnmatchcase(text, expected) if "*" in expected else text == expected
    return matched if op == "=" else not matched


def as_number(text):
    try:
        return float(text)
    except ValueError:
        return None


class JsonAwareFilter(EventMessageFilter):
    def __init__(self, pattern):
        stripped = (pattern or "").strip()
        self.json_pattern = None
        if stripped.startswith("{") and stripped.endswith("}"):
            self.json_pattern = Parser(stripped[1:-1]).expression()
        else:
            super().__init__(pattern)

    def matches(self, message):
        if self.json_pattern is None:
            return super().matches(message)
        try:
            event = json.loads(message)
        except ValueError:
            return False
        return isinstance(event, dict) and bool(self.json_pattern(event))


moto.logs.models.EventMessageFilter = JsonAwareFilter
