"""The diff case table: spec pairs with the exact rule ids each must yield (issue #16).

A :class:`Case` is one spec pair and the set of rule ids ``diff_documents`` must return for it,
no more and no fewer. Cases come in groups about one change; ``about`` is the union of the ids
the group exercises, so a case whose expectation lacks an id of its group is that id's *negative*
case (the reverse change, or the same change on the side where it breaks nobody).
``schema_cases`` places each schema fragment pair at every location of the catalogue;
``operation_cases`` are whole documents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Spec = dict[str, Any]


@dataclass(frozen=True)
class Case:
    """A spec pair, the rule ids it must yield exactly, and the ids its group is about."""

    name: str
    base: Spec
    revision: Spec
    expected: frozenset[str]
    about: frozenset[str]
    options: dict[str, Any] = field(default_factory=dict)


def all_cases() -> list[Case]:
    """Every case of the table."""
    from tests.contracts.diff_cases.fragments import schema_cases
    from tests.contracts.diff_cases.operations import operation_cases

    return [*schema_cases(), *operation_cases()]
