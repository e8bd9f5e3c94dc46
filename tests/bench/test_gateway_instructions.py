"""``bench.gateway_instructions``: callgrind's count of one run, per proxied request."""

from __future__ import annotations

import pytest

from bench.gateway_instructions import REPOSITORY, count, dumped_total

DUMP = """# callgrind format
version: 1
creator: callgrind-3.19.0
events: Ir
fn=(1) main
0 12
summary: 123456
totals: 123456
"""


def test_the_dump_total_is_its_summary_line() -> None:
    """The instruction count is read from the dump's ``summary:`` line."""
    assert dumped_total(DUMP) == 123_456
    assert dumped_total(DUMP.replace("summary: 123456\n", "")) == 123_456


def test_a_dump_without_a_total_is_refused() -> None:
    """A dump with neither ``summary:`` nor ``totals:`` is an error, not a zero."""
    with pytest.raises(ValueError, match="no summary or totals"):
        dumped_total("events: Ir\n0 12\n")


@pytest.mark.integration
def test_a_real_gateway_under_callgrind_is_counted_per_request() -> None:
    """A real gateway under callgrind costs thousands of instructions per proxied request."""
    per_request = count(REPOSITORY, 200)
    assert 10_000 < per_request < 2_000_000, per_request
