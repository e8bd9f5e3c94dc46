"""The ``workers`` setting: a number within 1..64 or ``auto``, from the file or CUTOVER_WORKERS."""

from __future__ import annotations

import os

import pytest

from gateway.config import MAX_WORKERS, ConfigError, parse_config, resolve_workers


def test_one_worker_by_default() -> None:
    """Without the field the gateway runs one process, as before."""
    assert parse_config("").workers == 1


def test_a_number_from_the_file() -> None:
    """``workers: 3`` is three processes."""
    assert parse_config("workers: 3").workers == 3


def test_auto_is_the_cpus_this_process_may_use() -> None:
    """``auto`` counts the CPUs of the process' affinity (a cpuset), capped at the maximum."""
    expected = min(len(os.sched_getaffinity(0)), MAX_WORKERS)
    assert parse_config("workers: auto").workers == expected
    assert resolve_workers("auto") == expected


def test_the_environment_overrides_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """CUTOVER_WORKERS wins over the file, as a number or ``auto``."""
    monkeypatch.setenv("CUTOVER_WORKERS", "4")
    assert parse_config("workers: 2").workers == 4
    monkeypatch.setenv("CUTOVER_WORKERS", "auto")
    assert parse_config("workers: 2").workers == resolve_workers("auto")


@pytest.mark.parametrize(
    "text",
    ["workers: 0", "workers: 65", "workers: -1", "workers: true", "workers: 2.5", "workers: AUTO",
     "workers: many", "workers: '4'"],
)  # fmt: skip
def test_a_bad_file_value_names_the_field(text: str) -> None:
    """Out of range, a boolean, a fraction, a misspelt auto or a quoted number stop start-up."""
    with pytest.raises(ConfigError) as info:
        parse_config(text, "test.yaml")
    assert "(test.yaml): workers" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("value", ["0", "65", "two", ""])
def test_a_bad_environment_value_names_the_field(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """A bad CUTOVER_WORKERS is reported like a bad file value."""
    monkeypatch.setenv("CUTOVER_WORKERS", value)
    with pytest.raises(ConfigError, match=r"workers: "):
        parse_config("")


@pytest.mark.parametrize(("value", "expected"), [("2", 2), (5, 5), ("64", 64)])
def test_resolve_takes_command_line_strings(value: int | str, expected: int) -> None:
    """``--workers 2`` arrives as a string and resolves like the file's number."""
    assert resolve_workers(value, "--workers") == expected


@pytest.mark.parametrize("value", ["0", "x", "1.5", 99])
def test_resolve_names_the_given_field(value: int | str) -> None:
    """A bad ``--workers`` is reported under the flag's name."""
    with pytest.raises(ConfigError, match=r"^--workers: "):
        resolve_workers(value, "--workers")
