"""The ``CUTOVER_*`` environment layer of the config: read over the file, and checked for typos.

:class:`EnvironmentFirst` is the pydantic-settings base of ``GatewaySettings``: environment values
win over the file's, and JSON below the top level is decoded too (:class:`_NestedJson`).

Unknown ``CUTOVER_*`` environment variables are start-up errors, with the closest known name.

pydantic-settings reads only the variables that match a field and silently ignores the rest, so a
misspelt override (``CUTOVER_UPSTREAMS__CANDIDATE__URL`` typed ``..._CANDIATE_...``) left the
gateway running on the file's value with nothing said (issue #12 item 8). The known names are
derived from the schema itself (the settings model and the config dataclasses in its fields) — one
schema, not a second list to keep in step:

* every field path, joined by the nested delimiter: ``CUTOVER_LISTENERS__ADMIN__PORT``, and every
  section on its own (``CUTOVER_LISTENERS`` takes JSON);
* below a free-form mapping field (``migration``, ``shadow.routes``) or a section read by its own
  parser (a plain or wrap validator) any deeper name is accepted: ``CUTOVER_MIGRATION__INTERVAL_S``;
* names the operator CLI reads (``CUTOVER_ADMIN_URL``), passed in as ``allowed``.

Names compare case-insensitively, as pydantic-settings reads them.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import types
import typing
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel, PlainValidator, WrapValidator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

__all__ = [
    "EnvironmentFirst",
    "UnknownEnvironmentVariable",
    "check_environment",
    "fields_of",
    "known_names",
    "own_parser",
    "sections",
]

PREFIX = "CUTOVER_"
DELIMITER = "__"


class UnknownEnvironmentVariable(ValueError):
    """A ``CUTOVER_*`` variable no setting reads; the message names the closest known one."""


def sections(annotation: Any) -> Iterator[type]:
    """The nested sections inside an annotation (``Section``, ``Section | None``): pydantic models
    and dataclasses, whose fields take their own ``__`` names."""
    if isinstance(annotation, type) and (
        issubclass(annotation, BaseModel) or dataclasses.is_dataclass(annotation)
    ):
        yield annotation
    elif typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            yield from sections(arg)


def fields_of(section: type) -> dict[str, tuple[Any, list[Any]]]:
    """``{name in the file: (annotation, pydantic metadata)}`` of a model's or a dataclass's
    fields."""
    if issubclass(section, BaseModel):
        return {
            info.alias or name: (info.annotation, info.metadata)
            for name, info in section.model_fields.items()
        }
    if not dataclasses.is_dataclass(section):
        return {}
    hints = typing.get_type_hints(section, include_extras=True)
    found: dict[str, tuple[Any, list[Any]]] = {}
    for f in dataclasses.fields(section):
        if not f.init:
            continue
        annotation, metadata = hints[f.name], []
        if typing.get_origin(annotation) is typing.Annotated:
            annotation, *metadata = typing.get_args(annotation)
        alias = next((m.alias for m in metadata if getattr(m, "alias", None)), None)
        found[alias or f.name] = (annotation, metadata)
    return found


def own_parser(metadata: list[Any]) -> bool:
    """Whether a field's value is read by its own parser (a plain or wrap validator)."""
    return any(isinstance(m, PlainValidator | WrapValidator) for m in metadata)


def _free_form(annotation: Any, metadata: list[Any]) -> bool:
    """A mapping, or a section its own parser reads (``shadow``): any name below it."""
    if own_parser(metadata) and any(sections(annotation)):
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_free_form(a, []) for a in typing.get_args(annotation))
    return origin in (dict, Mapping) or annotation is dict


def known_names(model: type, prefix: str = PREFIX) -> tuple[set[str], set[str]]:
    """``(exact names, prefixes under which anything goes)`` for ``model``'s fields, upper-case."""
    exact: set[str] = set()
    open_prefixes: set[str] = set()
    for name, (annotation, metadata) in fields_of(model).items():
        full = f"{prefix}{name}".upper()
        exact.add(full)
        if _free_form(annotation, metadata):
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
        env_prefix="CUTOVER_", env_nested_delimiter="__", extra="forbid"
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
        return (_NestedJson(settings_cls, env_settings), init_settings)


class _NestedJson(PydanticBaseSettingsSource):
    """The environment source, with JSON values below the top level decoded as at the top.

    pydantic-settings decodes ``CUTOVER_LISTENERS='{...}'`` itself but cannot see the field types
    inside a dataclass section, so ``CUTOVER_OVERRIDE__TRUSTED_CIDRS='["10.0.0.0/8"]'`` would stay
    a string. Decoded here, before the sources are merged, a section given as JSON is still merged
    key by key with the file's.
    """

    def __init__(self, settings_cls: type[BaseSettings], env: PydanticBaseSettingsSource) -> None:
        super().__init__(settings_cls)
        self.env = env

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self.env.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        values = self.env()
        for name, value in values.items():
            info = self.settings_cls.model_fields[name]
            for section in sections(info.annotation) if isinstance(value, dict) else ():
                if not own_parser(info.metadata):  # its parser reads the section as it comes
                    _decode_json(value, section, name)
        return values


def _decode_json(values: dict[str, Any], section: type, where: str) -> None:
    for name, (annotation, metadata) in fields_of(section).items():
        value, inner = values.get(name), next(sections(annotation), None)
        if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
            try:
                values[name] = json.loads(value)
            except ValueError as exc:
                raise ValueError(
                    f"{where}.{name}: the environment value is not JSON: {exc}"
                ) from None
        elif isinstance(value, dict) and inner is not None and not own_parser(metadata):
            _decode_json(value, inner, f"{where}.{name}")
