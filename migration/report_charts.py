"""Hand-written SVG time charts for the HTML report: a real time axis, bands, markers and gaps.

Why no charting library: the report must work offline from one file, so a library would be inlined
in every report. The kept candidates weigh 50 kB (uPlot) to 1 MB (Plotly) of JavaScript and give
interactivity the report does not need; what it needs — a clock-time axis, shaded steps, numbered
event markers with a hover title, two series on a scale that spikes do not set, and gaps drawn as
gaps — is about 200 lines of SVG here, renders without JavaScript (also in a mail client or a
printed page) and is tested as plain strings.

Everything is pure: values in, markup out. Scales:

* **time** — ticks at the largest "nice" step (1 s … 12 h) that gives at most ~10 labels, labelled
  with UTC clock times (``HH:MM`` or ``HH:MM:SS`` when the step is under a minute);
* **values** — the top is a high quantile (98th) of *all* series together, rounded up to a nice
  number, so one baseline spike cannot flatten a 200 ms candidate fault; points above the top are
  drawn at the top and marked with a triangle whose title gives the real value;
* **gaps** — a line is broken across each of the ``gaps`` the caller names (the report: where no
  evaluation was recorded for over three intervals) and at a missing value: no diagonal across a
  period without data.
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "Band",
    "Marker",
    "Series",
    "TimeAxis",
    "line_chart",
    "nice_top",
    "robust_top",
    "split_on_gaps",
    "time_ticks",
]

Point = tuple[float, float | None]

WIDTH, HEIGHT = 1200, 230
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 30, 34
_TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200)
_BAND_FILLS = ("#f4f4f8", "#e8ecf4")


@dataclass(frozen=True)
class Series:
    """One line: its legend name, colour and ``(t, value)`` points (``None``: no value then)."""

    name: str
    colour: str
    points: Sequence[Point]
    step: bool = False  # drawn as a staircase (a weight holds until it changes)


@dataclass(frozen=True)
class Band:
    """A shaded stretch of time, labelled: a plan ``step`` (alternating greys, label at the top),
    a ``paused`` stretch (hatched over the steps) or a ``gap`` without data (white)."""

    start: float
    end: float
    label: str
    kind: str = "step"


@dataclass(frozen=True)
class Marker:
    """A numbered event line: ``title`` is the hover text, ``colour`` the line's."""

    at: float
    number: int
    colour: str
    title: str


@dataclass(frozen=True)
class TimeAxis:
    """Maps times ``t0..t1`` onto the plot's x range."""

    t0: float
    t1: float

    @property
    def span(self) -> float:
        return max(self.t1 - self.t0, 1e-9)

    def x(self, t: float) -> float:
        return LEFT + (t - self.t0) / self.span * (WIDTH - LEFT - RIGHT)


def time_ticks(t0: float, t1: float, most: int = 10) -> tuple[list[float], int]:
    """Tick times on whole multiples of a nice step within ``t0..t1``, and that step (s)."""
    span = max(t1 - t0, 1.0)
    step = next((s for s in _TICK_STEPS if span / s <= most), _TICK_STEPS[-1])
    first = math.ceil(t0 / step) * step
    return [first + i * step for i in range(int((t1 - first) // step) + 1)], step


def _clock(t: float, step: int) -> str:
    return time.strftime("%H:%M:%S" if step < 60 else "%H:%M", time.gmtime(t))


def grid_step(top: float, lines: int = 5) -> float:
    """A 1/2/2.5/5 x 10^k step that cuts ``0..top`` into at most ``lines`` parts."""
    if top <= 0 or not math.isfinite(top):
        return 0.25
    rough = top / lines
    power: float = 10 ** math.floor(math.log10(rough))  # an int for steps of 1 and more
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= rough * 0.999999)


def nice_top(value: float) -> float:
    """``value`` rounded up to a whole number of :func:`grid_step` (1.0 for nothing positive)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    step = grid_step(value)
    return math.ceil(value / step - 1e-9) * step


def robust_top(
    values: Sequence[float], quantile: float = 0.98, headroom: float = 1.15, least: float = 0.0
) -> float:
    """A y-axis top from a high quantile of ``values`` (all series), not their maximum, and at
    least ``least`` (so a series of zeros sits on a readable scale, not on 0..1)."""
    finite = sorted(v for v in values if math.isfinite(v))
    at = finite[min(len(finite) - 1, int(quantile * (len(finite) - 1) + 0.5))] if finite else 0.0
    if at <= 0 and least <= 0:
        return 1.0
    return nice_top(max(at * headroom, least))


def split_on_gaps(
    points: Sequence[Point], gaps: Sequence[tuple[float, float]]
) -> list[list[tuple[float, float]]]:
    """Runs of consecutive valued points; a ``None`` or a step across one of ``gaps`` ends a run."""
    runs: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    last_t: float | None = None
    for t, v in points:
        across = last_t is not None and any(last_t <= a and b <= t for a, b in gaps)
        if v is None or across:
            if current:
                runs.append(current)
            current = []
        if v is not None:
            current.append((t, v))
        last_t = t
    if current:
        runs.append(current)
    return runs


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _frame(axis: TimeAxis, top: float, fmt: Callable[[float], str]) -> list[str]:
    """Horizontal grid with value labels and the time axis with clock ticks."""
    bottom = HEIGHT - BOTTOM
    parts = []
    step = grid_step(top)
    for i in range(round(top / step) + 1):
        value = i * step
        y = bottom - value / top * (bottom - TOP)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" class="grid"/>'
        )
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="ylab">{_esc(fmt(value))}</text>')
    ticks, step = time_ticks(axis.t0, axis.t1)
    for t in ticks:
        x = axis.x(t)
        parts.append(
            f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 5}" class="axis"/>'
        )
        parts.append(f'<text x="{x:.1f}" y="{bottom + 18}" class="xlab">{_clock(t, step)}</text>')
    parts.append(
        f'<line x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}" class="axis"/>'
    )
    return parts


def _bands(axis: TimeAxis, bands: Sequence[Band]) -> list[str]:
    """The shaded stretches, then their labels (so a gap drawn over a step hides no label)."""
    rects, labels = [], []
    for i, band in enumerate(bands):
        x0, x1 = axis.x(max(band.start, axis.t0)), axis.x(min(band.end, axis.t1))
        if x1 <= x0:
            continue
        fill = {"paused": "url(#hatch)", "gap": "#ffffff"}.get(band.kind, _BAND_FILLS[i % 2])
        rects.append(
            f'<rect x="{x0:.1f}" y="{TOP}" width="{x1 - x0:.1f}" height="{HEIGHT - TOP - BOTTOM}"'
            f' fill="{fill}"><title>{_esc(band.label)}</title></rect>'
        )
        if x1 - x0 > 34:
            y = TOP + 12 if band.kind == "step" else HEIGHT - BOTTOM - 6
            labels.append(f'<text x="{x0 + 4:.1f}" y="{y}" class="band">{_esc(band.label)}</text>')
    return rects + labels


def _markers(axis: TimeAxis, markers: Sequence[Marker]) -> list[str]:
    parts = []
    for m in markers:
        if not axis.t0 <= m.at <= axis.t1:
            continue
        x = axis.x(m.at)
        parts.append(
            f'<g class="marker"><title>{_esc(f"{m.number}. {m.title}")}</title>'
            f'<line x1="{x:.1f}" y1="{TOP - 4}" x2="{x:.1f}" y2="{HEIGHT - BOTTOM}" '
            f'stroke="{m.colour}" stroke-width="1.5" stroke-dasharray="4 3"/>'
            f'<circle cx="{x:.1f}" cy="{TOP - 12}" r="8" fill="{m.colour}"/>'
            f'<text x="{x:.1f}" y="{TOP - 8}" class="num">{m.number}</text></g>'
        )
    return parts


def _line(
    axis: TimeAxis,
    series: Series,
    top: float,
    gaps: Sequence[tuple[float, float]],
    fmt: Callable[[float], str],
) -> list[str]:
    bottom = HEIGHT - BOTTOM

    def y(v: float) -> float:
        return bottom - min(v, top) / top * (bottom - TOP)

    parts = []
    for run in split_on_gaps(series.points, gaps):
        coords: list[str] = []
        for i, (t, v) in enumerate(run):
            if series.step and i:
                coords.append(f"{axis.x(t):.1f},{y(run[i - 1][1]):.1f}")
            coords.append(f"{axis.x(t):.1f},{y(v):.1f}")
        if len(run) == 1:
            coords.append(f"{axis.x(run[0][0]) + 2:.1f},{y(run[0][1]):.1f}")
        parts.append(
            f'<polyline fill="none" stroke="{series.colour}" stroke-width="1.8" '
            f'stroke-linejoin="round" points="{" ".join(coords)}"/>'
        )
        for t, v in run:
            if v > top:
                x = axis.x(t)
                parts.append(
                    f'<path d="M{x - 4:.1f},{TOP + 7} L{x + 4:.1f},{TOP + 7} L{x:.1f},{TOP} Z" '
                    f'fill="{series.colour}"><title>{_esc(f"{series.name}: {fmt(v)} (off scale)")}'
                    "</title></path>"
                )
    return parts


def line_chart(
    title: str,
    series: Sequence[Series],
    axis: TimeAxis,
    fmt: Callable[[float], str],
    *,
    bands: Sequence[Band] = (),
    markers: Sequence[Marker] = (),
    gaps: Sequence[tuple[float, float]] = (),
    top: float | None = None,
    least: float = 0.0,
) -> str:
    """One ``<figure>``: an SVG chart of ``series`` over ``axis`` (``top``: a fixed scale;
    ``least``: the smallest top a scale from the values may have)."""
    values = [v for s in series for _, v in s.points if v is not None]
    if not values:
        return f"<figure><figcaption>{_esc(title)}: no data in this period</figcaption></figure>"
    scale = top if top is not None else robust_top(values, least=least)
    clipped = sum(1 for v in values if v > scale)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" role="img" aria-label="{_esc(title)}">',
        '<defs><pattern id="hatch" width="8" height="8" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="8" height="8" fill="#fff4e0" '
        'fill-opacity="0.7"/><line x1="0" y1="0" x2="0" y2="8" stroke="#f0a830" '
        'stroke-width="2" stroke-opacity="0.45"/></pattern></defs>',
        *_bands(axis, bands),
        *_frame(axis, scale, fmt),
        *(p for s in series for p in _line(axis, s, scale, gaps, fmt)),
        *_markers(axis, markers),
    ]
    parts.append("</svg>")
    legend = "".join(
        f' <span class="legend" style="color:{s.colour}">━ {_esc(s.name)}</span>' for s in series
    )
    note = f" — {clipped} point(s) above the scale, marked ▲" if clipped else ""
    caption = f"<figcaption>{_esc(title)}{legend}{_esc(note)}</figcaption>"
    return f"<figure>{caption}{''.join(parts)}</figure>"
