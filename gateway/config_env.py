"""Unknown ``CUTOVER_*`` environment variables are start-up errors, with the closest known name.

pydantic-settings reads only the variables that match a field and silently ignores the rest, so a
misspelt override (``CUTOVER_UPSTREAMS__CANDIDATE__URL`` typed ``..._CANDIATE_...``) left the
gateway running on the file's value with nothing said (issue #12 item 8). The known names are
derived from the settings models themselves — one schema, not a second list to keep in step:

* every field path, joined by the nested delimiter: ``CUTOVER_LISTENERS__ADMIN__PORT``, and every
  section on its own (``CUTOVER_LISTENERS`` takes JSON);
* below a free-form mapping field (``migration``, ``shadow``: validated later by their own parsers)
  any deeper name is accepted: ``CUTOVER_MIGRATION__INTERVAL_S``;
* names the operator CLI reads (``CUTOVER_ADMIN_URL``), passed in as ``allowed``.

Names compare case-insensitively, as pydantic-settings reads them.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel

__all__ = ["UnknownEnvironmentVariable", "check_environment", "known_names"]

PREFIX = "CUTOVER_"
DELIMITER = "__"


class UnknownEnvironmentVariable(ValueError):
    """A ``CUTOVER_*`` variable no setting reads; the message names the closest known one."""


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    """The pydantic models inside an annotation (``Model``, ``Model | None``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    elif typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            yield from _models(arg)


def _is_mapping(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_is_mapping(a) for a in typing.get_args(annotation))
    return origin is dict or annotation is dict


def known_names(model: type[BaseModel], prefix: str = PREFIX) -> tuple[set[str], set[str]]:
    """``(exact names, prefixes under which anything goes)`` for ``model``'s fields, upper-case."""
    exact: set[str] = set()
    open_prefixes: set[str] = set()
    for name, info in model.model_fields.items():
        full = f"{prefix}{name}".upper()
        exact.add(full)
        nested = list(_models(info.annotation))
        for sub in nested:
            more, opened = known_names(sub, f"{full}{DELIMITER}")
            exact |= more
            open_prefixes |= opened
        if not nested and _is_mapping(info.annotation):
            open_prefixes.add(f"{full}{DELIMITER}")
    return exact, open_prefixes


def check_environment(
    model: type[BaseModel], environ: Mapping[str, str], allowed: frozenset[str] = frozenset()
) -> None:
    """Raise :class:`UnknownEnvironmentVariable` for the first ``CUTOVER_*`` name nothing reads."""
    exact, open_prefixes = known_names(model)
    exact |= {a.upper() for a in allowed}
    for key in sorted(environ):
        name = key.upper()
        if not name.startswith(PREFIX) or name in exact:
            continue
        if any(name.startswith(p) and len(name) > len(p) for p in open_prefixes):
            continue
        close = difflib.get_close_matches(name, sorted(exact), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise UnknownEnvironmentVariable(f"environment variable {key}: unknown setting{hint}")
