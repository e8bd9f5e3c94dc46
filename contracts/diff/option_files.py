"""Parse ``--ignore FILE`` and ``--severity FILE`` contents into frozen option objects.

The files are YAML or JSON (JSON is YAML). Parsing is strict and happens once, before any document
is read: an entry with a missing reason or a date that is not ``YYYY-MM-DD`` stops the command with
exit 2 and a message naming the file, the entry (counted from 1) and the field, rather than
silently ignoring more or less than the team agreed to.

Ignore file — a list of entries::

    - rule: response-*property-removed     # a rule id, or a glob
      operation: GET /pets/{id}            # METHOD /path or /path, globs allowed
      location: response 200 $.nickname    # optional, a glob over the finding's location
      reason: the mobile app stopped reading it in 4.2
      expires: 2027-03-31                  # optional; from the day after, the entry warns instead

Severity file — a mapping from rule id (or glob) to ``ERR``, ``WARN``, ``INFO`` or ``off``::

    response-enum-value-added: ERR
    "request-*-added": INFO
    ignore-entry-unused: off
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from contracts.diff.options import IGNORE_FIELDS, IgnoreEntry, OptionsError, SeverityOverride
from contracts.report import Severity


def read_option_file(path: str) -> Any:
    """The parsed YAML/JSON of ``path``; unreadable or malformed files raise OptionsError."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise OptionsError(f"cannot read {path}: {exc}") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise OptionsError(f"{path} is neither JSON nor YAML: {exc}") from exc


def parse_ignore_entries(data: Any, source: str) -> tuple[IgnoreEntry, ...]:
    """A list of ignore entries (``None``, an empty file, is an empty list)."""
    if data is None:
        return ()
    if not isinstance(data, list):
        raise OptionsError(f"{source}: expected a list of ignore entries, not {_kind(data)}")
    return tuple(_entry(item, number, source) for number, item in enumerate(data, start=1))


def _entry(item: Any, number: int, source: str) -> IgnoreEntry:
    where = f"{source}: entry {number}"
    if not isinstance(item, Mapping):
        raise OptionsError(f"{where}: expected a mapping with rule, operation and reason")
    unknown = sorted(str(k) for k in item if k not in IGNORE_FIELDS)
    if unknown:
        raise OptionsError(
            f"{where}: unknown field {unknown[0]!r} (allowed: {', '.join(IGNORE_FIELDS)})"
        )
    fields = {name: _text(item, name, where) for name in ("rule", "operation", "reason")}
    location = item.get("location")
    if location is not None and (not isinstance(location, str) or not location.strip()):
        raise OptionsError(f"{where}: 'location' must be a non-empty string")
    return IgnoreEntry(
        rule=fields["rule"],
        operation=fields["operation"],
        reason=fields["reason"],
        location=location.strip() if isinstance(location, str) else None,
        expires=_date(item.get("expires"), where),
        number=number,
    )


def _text(item: Mapping[str, Any], name: str, where: str) -> str:
    value = item.get(name)
    if value is None:
        raise OptionsError(f"{where}: {name!r} is required")
    if not isinstance(value, str) or not value.strip():
        raise OptionsError(f"{where}: {name!r} must be a non-empty string")
    return value.strip()


def _date(value: Any, where: str) -> dt.date | None:
    """YAML reads an unquoted ``2027-03-31`` as a date, JSON gives the string: accept both."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise OptionsError(f"{where}: 'expires' must be a date YYYY-MM-DD, not {value!r}")


def parse_severity_overrides(data: Any, source: str) -> tuple[SeverityOverride, ...]:
    """A mapping of rule id or glob to a level or ``off``, in file order."""
    if data is None:
        return ()
    if not isinstance(data, Mapping):
        raise OptionsError(f"{source}: expected a mapping of rule id to level, not {_kind(data)}")
    overrides = []
    for number, (pattern, value) in enumerate(data.items(), start=1):
        where = f"{source}: entry {number} ({pattern!r})"
        if not isinstance(pattern, str) or not pattern.strip():
            raise OptionsError(f"{where}: the rule id must be a non-empty string")
        overrides.append(SeverityOverride(pattern.strip(), _level(value, where)))
    return tuple(overrides)


def _level(value: Any, where: str) -> Severity | None:
    # YAML 1.1 reads a bare `off` as False; both spellings mean "drop these findings".
    if value is False or (isinstance(value, str) and value.strip().lower() == "off"):
        return None
    if isinstance(value, str):
        try:
            return Severity.parse(value)
        except ValueError:
            pass
    raise OptionsError(f"{where}: level must be ERR, WARN, INFO or off, not {value!r}")


def _kind(data: Any) -> str:
    if isinstance(data, Mapping):
        return "a mapping"
    if isinstance(data, list):
        return "a list"
    return "a string" if isinstance(data, str) else type(data).__name__
