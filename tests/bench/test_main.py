"""`python -m bench`: suite names, each followed by its own flags."""

from __future__ import annotations

from bench.__main__ import SUITES, plan


def test_no_argument_runs_every_suite_with_its_defaults() -> None:
    """Without names every suite runs, none with flags."""
    assert plan([]) == [(name, []) for name in SUITES]


def test_flags_go_to_the_suite_they_follow() -> None:
    """`gateway --rounds 5 rollback --trials 20` gives each suite its own flags and values."""
    assert plan(["gateway", "--rounds", "5", "rollback", "--trials", "20"]) == [
        ("gateway", ["--rounds", "5"]),
        ("rollback", ["--trials", "20"]),
    ]


def test_unknown_names_and_leading_flags_are_refused() -> None:
    """A word that is no suite (and no flag's value), or a flag before any suite, is an error."""
    assert isinstance(plan(["nope"]), str)
    assert isinstance(plan(["--rounds", "5"]), str)
    assert isinstance(plan(["gateway", "shadowz"]), str)
