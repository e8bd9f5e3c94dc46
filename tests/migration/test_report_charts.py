"""The report's SVG charts: clock ticks, scales that spikes do not set, gaps drawn as gaps."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from migration.report_charts import (
    Band,
    Marker,
    Series,
    TimeAxis,
    line_chart,
    nice_top,
    robust_top,
    split_on_gaps,
    time_ticks,
)

T0 = 1_796_547_600.0  # 2026-12-06T09:00:00Z


def _svg(figure: str) -> ET.Element:
    return ET.fromstring(figure[figure.index("<svg") : figure.index("</svg>") + 6])


@pytest.mark.parametrize(
    ("span", "step"), [(30, 5), (600, 60), (1000, 120), (3 * 3600, 1800), (10 * 3600, 3600)]
)
def test_time_ticks_take_the_largest_nice_step_with_at_most_ten_labels(
    span: float, step: int
) -> None:
    """Ticks fall on whole multiples of a 1/2/5/10/15/30-style step, at most ten of them."""
    ticks, found = time_ticks(T0 + 7, T0 + 7 + span)
    assert found == step
    assert all(t % step == 0 for t in ticks)
    assert len(ticks) <= 10
    assert ticks[0] >= T0 + 7
    assert ticks[-1] <= T0 + 7 + span


def test_nice_top_rounds_up_to_a_whole_grid_step() -> None:
    """0.2875 becomes 0.3, 0.044 becomes 0.05; nothing positive gives 1."""
    assert nice_top(0.2875) == pytest.approx(0.3)
    assert nice_top(0.044) == pytest.approx(0.05)
    assert nice_top(0.0) == 1.0
    assert nice_top(math.nan) == 1.0


def test_a_spike_does_not_set_the_scale() -> None:
    """Two 1.8 s points among 200 at ~40 ms and a 250 ms stretch: the top is ~300 ms, not 2 s."""
    values = [0.04] * 160 + [0.25] * 40 + [1.8, 1.8]
    assert robust_top(values) == pytest.approx(0.3)


def test_gaps_and_missing_values_break_the_line() -> None:
    """A step across a named gap or a None ends a run; single points stay runs of one."""
    points = [(0.0, 1.0), (1.0, 2.0), (10.0, 3.0), (11.0, None), (12.0, 4.0)]
    runs = split_on_gaps(points, [(1.0, 10.0)])
    assert runs == [[(0.0, 1.0), (1.0, 2.0)], [(10.0, 3.0)], [(12.0, 4.0)]]


def test_a_chart_marks_clipped_points_markers_and_bands() -> None:
    """Points above the scale get a titled triangle; markers carry their number and title."""
    axis = TimeAxis(T0, T0 + 100)
    series = Series("baseline", "#00f", [(T0 + i, 0.04 if i != 50 else 2.0) for i in range(100)])
    figure = line_chart(
        "p95",
        [series],
        axis,
        lambda v: f"{v * 1000:.0f} ms",
        bands=[Band(T0, T0 + 60, "10 %"), Band(T0 + 70, T0 + 80, "paused", "paused")],
        markers=[Marker(T0 + 60, 1, "#c00", "rolled back at 0 % — latency_p95")],
    )
    svg = _svg(figure)
    titles = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}title")]
    assert "baseline: 2000 ms (off scale)" in titles
    assert "1. rolled back at 0 % — latency_p95" in titles
    assert "1 point(s) above the scale" in figure
    assert "09:00:00" in figure  # clock-time tick labels
    assert 'fill="url(#hatch)"' in figure


def test_a_chart_without_values_says_so() -> None:
    """No values: a caption saying there is no data, not an empty frame."""
    figure = line_chart("p95", [Series("b", "#00f", [(T0, None)])], TimeAxis(T0, T0 + 1), str)
    assert "no data in this period" in figure
    assert "<svg" not in figure


def test_a_series_of_zeros_gets_the_least_scale() -> None:
    """An error-free error-rate chart is drawn on 0..1 %, not 0..100 %."""
    assert robust_top([0.0] * 50, least=0.01) == pytest.approx(0.01)
    assert robust_top([0.0] * 50) == 1.0
    assert robust_top([0.2] * 50, least=0.01) == pytest.approx(0.25)
