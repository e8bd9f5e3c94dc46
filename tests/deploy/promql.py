"""Just enough PromQL reading to list the series a query selects (no parser ships with Prometheus
2.42).

Prometheus itself judges whether an expression is valid (tests send every one to a real server);
this module only finds metric names and label matchers so tests can check them against the code's
metrics.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

#: What Grafana would substitute for its variables when it runs a panel query.
GRAFANA_VARIABLES: Mapping[str, str] = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "1h",
    "$route": ".*",
    "$backend": ".*",
}

_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "and",
    "or",
    "unless",
    "inf",
    "nan",
}
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


@dataclass(frozen=True)
class Selector:
    """A metric name in an expression and the label names its matchers use."""

    name: str
    labels: frozenset[str]


def substitute(expr: str) -> str:
    """``expr`` with Grafana's variables replaced, longest names first."""
    for name in sorted(GRAFANA_VARIABLES, key=len, reverse=True):
        expr = expr.replace(name, GRAFANA_VARIABLES[name])
    return expr


def selectors(expr: str) -> Iterator[Selector]:
    """Every metric selector of ``expr``: names not followed by ``(``
    nor used as a grouping label."""
    text = substitute(expr)
    masked = _STRING.sub(lambda m: '"' + " " * (len(m.group()) - 2) + '"', text)
    masked = re.sub(r"\[[^\]]*\]", lambda m: " " * len(m.group()), masked)
    masked = re.sub(r"\boffset\s+-?[0-9a-z]+", lambda m: " " * len(m.group()), masked)
    masked = re.sub(
        r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)",
        lambda m: " " * len(m.group()),
        masked,
    )
    pos = 0
    while True:
        match = _NAME.search(masked, pos)
        if match is None:
            return
        pos = match.end()
        name = match.group()
        rest = masked[pos:].lstrip()
        if rest.startswith("("):
            continue
        if name.lower() in _KEYWORDS or _inside_braces(masked, match.start()):
            continue
        labels: frozenset[str] = frozenset()
        if rest.startswith("{"):
            start = masked.index("{", pos)
            end = masked.index("}", start)
            labels = frozenset(
                re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", masked[start:end])
            )
            pos = end + 1
        yield Selector(name, labels)


def _inside_braces(text: str, index: int) -> bool:
    return text.rfind("{", 0, index) > text.rfind("}", 0, index)
