"""The small JSONPath subset the comparison rules use, compiled once and matched against node paths.

Rules are written by operators in config files (``$.items[*].id``, ``$..created_at``), so they are
parsed at start-up into immutable token tuples and a bad one fails with the offending text. Matching
runs for every JSON node the comparison visits, so it works on tuples, never on strings.

Supported: ``$`` root, ``.name`` and ``['name']`` keys, ``.*`` any key, ``[*]`` (and ``[3]``, which
is normalised to ``[*]``) any array element, ``..name`` / ``..*`` / ``..[*]`` recursive descent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

#: A concrete location in a JSON document: object keys, with ``None``
#: standing for "an array element".
NodePath = tuple[str | None, ...]

_KEY = "key"
_ANY_KEY = "any_key"
_INDEX = "index"
_DESCEND = "descend"

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_TOKEN = re.compile(
    r"""
    (?P<descend>\.\.)
  | \.(?P<name>[A-Za-z_][A-Za-z0-9_\-]*)
  | \.(?P<star>\*)
  | \[(?P<index>\*|\d+)\]
  | \[(?P<quote>['"])(?P<quoted>(?:\\.|(?!(?P=quote)).)*)(?P=quote)\]
    """,
    re.VERBOSE,
)
# After "..", a bare name or "*" follows without a dot.
_AFTER_DESCEND = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_\-]*)|(?P<star>\*)")


class PathSyntaxError(ValueError):
    """A rule path that is not in the supported JSONPath subset."""


@dataclass(frozen=True)
class PathPattern:
    """A compiled JSONPath pattern; ``matches`` tests a node path, as a prefix or exactly."""

    text: str
    tokens: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, text: str) -> PathPattern:
        """Compile ``text``; raise :class:`PathSyntaxError` naming it when it is not supported."""
        source = text.strip()
        if not source.startswith("$"):
            raise PathSyntaxError(f"JSON path must start with '$': {text!r}")
        tokens: list[tuple[str, str]] = []
        pos = 1
        while pos < len(source):
            match = _TOKEN.match(source, pos)
            if match is None:
                raise PathSyntaxError(f"unsupported JSON path syntax at offset {pos}: {text!r}")
            pos = match.end()
            if match.group("descend"):
                tokens.append((_DESCEND, ""))
                after = _AFTER_DESCEND.match(source, pos)
                if after is not None:
                    pos = after.end()
                    name = after.group("name")
                    tokens.append((_KEY, name) if name else (_ANY_KEY, ""))
                elif not source.startswith("[", pos):
                    raise PathSyntaxError(f"'..' must be followed by a name, '*' or '[': {text!r}")
            elif match.group("name"):
                tokens.append((_KEY, match.group("name")))
            elif match.group("star"):
                tokens.append((_ANY_KEY, ""))
            elif match.group("index") is not None:
                tokens.append((_INDEX, ""))
            else:
                quoted = re.sub(r"\\(.)", r"\1", match.group("quoted"))
                tokens.append((_KEY, quoted))
        if tokens and tokens[-1][0] == _DESCEND:
            raise PathSyntaxError(f"JSON path cannot end with '..': {text!r}")
        return cls(text=source, tokens=tuple(tokens))

    def matches(self, path: NodePath, *, prefix: bool = True) -> bool:
        """True when the pattern matches ``path`` (or, with ``prefix``, any ancestor of it)."""
        return _match(self.tokens, 0, path, 0, prefix)


def _match(
    tokens: tuple[tuple[str, str], ...], i: int, path: NodePath, j: int, prefix: bool
) -> bool:
    if i == len(tokens):
        return prefix or j == len(path)
    kind, name = tokens[i]
    if kind == _DESCEND:
        return any(_match(tokens, i + 1, path, k, prefix) for k in range(j, len(path)))
    if j == len(path):
        return False
    step = path[j]
    if kind == _INDEX:
        ok = step is None
    elif kind == _ANY_KEY:
        ok = step is not None
    else:
        ok = step == name
    return ok and _match(tokens, i + 1, path, j + 1, prefix)


def compile_patterns(texts: Sequence[str]) -> tuple[PathPattern, ...]:
    """Compile several patterns, failing on the first bad one."""
    return tuple(PathPattern.parse(text) for text in texts)


def format_path(path: NodePath) -> str:
    """Render a node path in normalised form: ``$.items[*].id``, ``$['a key']``."""
    parts = ["$"]
    for step in path:
        if step is None:
            parts.append("[*]")
        elif _IDENT.fullmatch(step):
            parts.append("." + step)
        else:
            escaped = step.replace("\\", "\\\\").replace("'", "\\'")
            parts.append(f"['{escaped}']")
    return "".join(parts)


#: A matcher state: the (pattern, token position) pairs still alive at a node.
MatchState = frozenset[tuple[int, int]]


class PathMatcher:
    """Matches many patterns incrementally while a JSON tree is walked (an NFA over path steps).

    The comparison visits every node of both bodies; testing each pattern against each node's
    full path would cost depth * patterns per node. Instead the walker carries a state and
    advances it one step per key or array element; steps are memoised, so a body whose keys
    repeat (arrays of objects) costs one dictionary lookup per node. Patterns are grouped:
    ``labels[i]`` names the group of pattern ``i`` (e.g. "ignore", "unordered") and
    :meth:`groups` says which groups match exactly here.
    """

    _CACHE_LIMIT = 8192

    def __init__(self, patterns: Sequence[PathPattern], labels: Sequence[str]) -> None:
        self._tokens = tuple(p.tokens for p in patterns)
        self._labels = tuple(labels)
        self._steps: dict[tuple[MatchState, str | None], MatchState] = {}
        self._groups: dict[MatchState, frozenset[str]] = {}
        self.start: MatchState = self._closure({(i, 0) for i in range(len(self._tokens))})

    def _closure(self, state: set[tuple[int, int]]) -> MatchState:
        pending = list(state)
        while pending:
            p, i = pending.pop()
            tokens = self._tokens[p]
            if i < len(tokens) and tokens[i][0] == _DESCEND and (p, i + 1) not in state:
                state.add((p, i + 1))
                pending.append((p, i + 1))
        return frozenset(state)

    def step(self, state: MatchState, key: str | None) -> MatchState:
        """The state after descending into ``key`` (``None`` for an array element)."""
        cache_key = (state, key)
        found = self._steps.get(cache_key)
        if found is not None:
            return found
        nxt: set[tuple[int, int]] = set()
        for p, i in state:
            tokens = self._tokens[p]
            if i == len(tokens):
                continue
            kind, name = tokens[i]
            if kind == _DESCEND:
                nxt.add((p, i))
            elif (
                (kind == _INDEX and key is None)
                or (kind == _ANY_KEY and key is not None)
                or (kind == _KEY and key == name)
            ):
                nxt.add((p, i + 1))
        result = self._closure(nxt)
        if len(self._steps) >= self._CACHE_LIMIT:
            self._steps.clear()
        self._steps[cache_key] = result
        return result

    def groups(self, state: MatchState) -> frozenset[str]:
        """The labels of the patterns that match the current node exactly."""
        found = self._groups.get(state)
        if found is None:
            found = frozenset(self._labels[p] for p, i in state if i == len(self._tokens[p]))
            if len(self._groups) < self._CACHE_LIMIT:
                self._groups[state] = found
        return found
