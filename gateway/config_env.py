"""The ``CUTOVER_*`` environment layer of the config: read over the file, and checked for typos.

:class:`EnvironmentFirst` is the pydantic-settings base of ``GatewaySettings``: environment values
win over the file's. A list or a section may be given as JSON at any depth: the config sections are
pydantic dataclasses, whose field types pydantic-settings sees (it decodes
``CUTOVER_OVERRIDE__TRUSTED_CIDRS='["10.0.0.0/8"]'`` and merges a section given as JSON key by key
with the file's); :func:`undecodable` names the variable when such a value is not JSON.

Unknown ``CUTOVER_*`` environment variables are start-up errors, with the closest known name.

pydantic-settings reads only the variables that match a field and silently ignores the rest, so a
misspelt override (``CUTOVER_UPSTREAMS__CANDIDATE__URL`` typed ``..._CANDIATE_...``) left the
gateway running on the file's value with nothing said (issue #12 item 8). The known names are
derived from the schema itself (the settings model and the config sections in its fields) — one
schema, not a second list to keep in step:

* every field path, joined by the nested delimiter: ``CUTOVER_LISTENERS__ADMIN__PORT``, and every
  section on its own (``CUTOVER_LISTENERS`` takes JSON);
* below a free-form mapping field (``migration``, ``shadow.routes``) any deeper name is accepted:
  ``CUTOVER_MIGRATION__INTERVAL_S``;
* names the operator CLI reads (``CUTOVER_ADMIN_URL``), passed in as ``allowed``.

Names compare case-insensitively, as pydantic-settings reads them.
"""

from __future__ import annotations

import difflib
import json
import types
import typing
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import PlainValidator, WrapValidator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

__all__ = [
    "EnvironmentFirst",
    "UnknownEnvironmentVariable",
    "check_environment",
    "fields_of",
    "known_names",
    "own_parser",
    "sections",
    "undecodable",
]

PREFIX = "CUTOVER_"
DELIMITER = "__"


class UnknownEnvironmentVariable(ValueError):
    """A ``CUTOVER_*`` variable no setting reads; the message names the closest known one."""


def sections(annotation: Any) -> Iterator[type]:
    """The nested sections inside an annotation (``Section``, ``Section | None``): pydantic models
    and pydantic dataclasses, whose fields take their own ``__`` names."""
    if isinstance(annotation, type) and hasattr(annotation, "__pydantic_fields__"):
        yield annotation
    elif typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            yield from sections(arg)


def fields_of(section: type) -> dict[str, tuple[Any, list[Any]]]:
    """``{name in the file: (annotation, pydantic metadata)}`` of a section's fields."""
    fields = getattr(section, "__pydantic_fields__", {})
    return {
        info.alias or name: (info.annotation, info.metadata)
        for name, info in fields.items()
        if info.init is not False  # derived (``RecordingConfig.redact_headers``), not a key
    }


def own_parser(metadata: list[Any]) -> bool:
    """Whether a field's value is read by its own parser (a plain or wrap validator), not walked
    into (``tests/deploy/test_example_config.py`` lists such fields' keys apart)."""
    return any(isinstance(m, PlainValidator | WrapValidator) for m in metadata)


def _free_form(annotation: Any) -> bool:
    """A mapping (``migration``, ``shadow.routes``): any name below it."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_free_form(a) for a in typing.get_args(annotation))
    return origin in (dict, Mapping) or annotation is dict


def known_names(model: type, prefix: str = PREFIX) -> tuple[set[str], set[str]]:
    """``(exact names, prefixes under which anything goes)`` for ``model``'s fields, upper-case."""
    exact: set[str] = set()
    open_prefixes: set[str] = set()
    for name, (annotation, _) in fields_of(model).items():
        full = f"{prefix}{name}".upper()
        exact.add(full)
        if _free_form(annotation):
            open_prefixes.add(f"{full}{DELIMITER}")
            continue
        for sub in sections(annotation):
            more, opened = known_names(sub, f"{full}{DELIMITER}")
            exact |= more
            open_prefixes |= opened
    return exact, open_prefixes


def check_environment(
    model: type, environ: Mapping[str, str], allowed: frozenset[str] = frozenset()
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


class EnvironmentFirst(BaseSettings):
    """Settings read from ``CUTOVER_*`` (nested with ``__``) over the values passed in (the
    file's)."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_nested_delimiter=DELIMITER, extra="forbid"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment first (it wins), then the values read from the YAML file."""
        return (env_settings, init_settings)


def undecodable(environ: Mapping[str, str]) -> str:
    """The ``CUTOVER_*`` value that is not the JSON its list or section needs, named as in the file.

    pydantic-settings decodes those values itself but names only the top-level field that failed.
    """
    for key in sorted(environ):
        if key.upper().startswith(PREFIX) and environ[key].lstrip()[:1] in ("[", "{"):
            try:
                json.loads(environ[key])
            except ValueError as exc:
                field = key[len(PREFIX) :].lower().replace(DELIMITER, ".")
                return f"{field}: the environment value is not JSON ({key}): {exc}"
    return "an environment value is not JSON"
