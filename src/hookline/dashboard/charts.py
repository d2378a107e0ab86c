"""Charts as inline SVG, drawn on the server: no JavaScript, no build step, readable without colour.

Each chart is an ``<svg role="img">`` with a ``<title>`` that says what it shows in words, and every bar or
point carries its own ``<title>`` (the browser's tooltip). Colours come from CSS classes (``c-<series>``)
so the stylesheet keeps them in contrast; pages put a data table beside each chart for screen readers.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from markupsafe import Markup, escape

_ids = itertools.count(1)


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def duration(ms: float | None) -> str:
    """Milliseconds as a person reads them: "850 ms", "12.5 ms", "5.98 s", "2.5 min"; "—" for None."""
    if ms is None:
        return "—"
    if ms < 10:
        return f"{_num(ms)} ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.3g} s"
    return f"{ms / 60_000:.3g} min"


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above ``value`` (at least 1): a tidy axis top."""
    if value <= 1:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(step * power for step in (1.0, 2.0, 5.0, 10.0) if step * power >= value)


def hour(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M")


def day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%d %b")


def day_hour(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%d %b %H:%M")


def ticks(top: float) -> list[float]:
    """The values a count axis marks: whole numbers only (0, 1 … 5 under a top of 5, never 2.5)."""
    if top <= 5:
        return [float(n) for n in range(int(top) + 1)]
    return [0.0, top / 2, top] if (top / 2).is_integer() else [0.0, top]


def _open(label: str, width: int, height: int, css: str) -> list[str]:
    title_id = f"chart-title-{next(_ids)}"
    return [
        f'<svg class="chart {css}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{title_id}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{title_id}">{escape(label)}</title>',
    ]


GOOD_RATE = 0.95  # a success rate at or above it is drawn as good; below half, as bad


def rate_class(rate: float) -> str:
    """The colour class of a success rate's dot: good, poor or bad."""
    if rate >= GOOD_RATE:
        return "dot-good"
    return "dot-poor" if rate >= 0.5 else "dot-bad"


def sparkline(values: Sequence[float | None], *, label: str, width: int = 120, height: int = 28) -> Markup:
    """A line of ratios in 0..1 (None: nothing to measure in that slot, drawn as a gap)."""
    parts = _open(label, width, height, "sparkline")
    step = width / max(len(values) - 1, 1)
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, value in enumerate(values):
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        y = 2 + (height - 4) * (1 - max(0.0, min(1.0, value)))
        segment.append(f"{_num(i * step)},{_num(y)}")
    if segment:
        segments.append(segment)
    parts.append(f'<line class="baseline" x1="0" y1="{height - 1}" x2="{width}" y2="{height - 1}"/>')
    for points in segments:
        if len(points) > 1:
            parts.append(f'<polyline class="c-line" fill="none" points="{" ".join(points)}"/>')
    for i, value in enumerate(values):
        # A lone point is a dot; a point below the target rate is one too, coloured by how bad it is.
        alone = value is not None and all(values[j] is None for j in (i - 1, i + 1) if 0 <= j < len(values))
        if value is None or not (alone or value < GOOD_RATE):
            continue
        y = 2 + (height - 4) * (1 - max(0.0, min(1.0, value)))
        parts.append(f'<circle class="{rate_class(value)}" cx="{_num(i * step)}" cy="{_num(y)}" r="2"/>')
    parts.append("</svg>")
    return Markup("".join(parts))  # built from numbers and escaped text


_PAD_LEFT, _PAD_BOTTOM, _PAD_TOP = 44, 22, 8


def _axes(
    parts: list[str],
    top: float,
    times: Sequence[float],
    width: int,
    height: int,
    when: Callable[[float], str],
) -> None:
    plot_h = height - _PAD_BOTTOM - _PAD_TOP
    for value in ticks(top):
        y = _PAD_TOP + plot_h * (1 - value / top)
        parts.append(f'<line class="grid" x1="{_PAD_LEFT}" y1="{_num(y)}" x2="{width}" y2="{_num(y)}"/>')
        parts.append(
            f'<text class="axis" x="{_PAD_LEFT - 4}" y="{_num(y + 4)}" text-anchor="end">{_num(value)}</text>'
        )
    if times:
        slot = (width - _PAD_LEFT) / len(times)
        for index in sorted({0, len(times) // 2, len(times) - 1}):
            x = _PAD_LEFT + slot * (index + 0.5)
            anchor = "start" if index == 0 else "end" if index == len(times) - 1 else "middle"
            x = _PAD_LEFT if anchor == "start" else width if anchor == "end" else x
            parts.append(
                f'<text class="axis" x="{_num(x)}" y="{height - 6}" text-anchor="{anchor}">'
                f"{when(times[index])}</text>"
            )


def stacked_bars(
    times: Sequence[float],
    stacks: Mapping[str, Sequence[int]],
    *,
    label: str,
    when: Callable[[float], str] = hour,
    width: int = 560,
    height: int = 200,
) -> Markup:
    """One bar per time slot, stacked by series (outcomes), bottom to top in ``stacks`` order; ``when``
    names a slot by its start."""
    totals = [sum(series[i] for series in stacks.values()) for i in range(len(times))]
    top = nice_ceiling(max(totals, default=0))
    parts = _open(label, width, height, "bars")
    _axes(parts, top, times, width, height, when)
    plot_h = height - _PAD_BOTTOM - _PAD_TOP
    slot = (width - _PAD_LEFT) / max(len(times), 1)
    for i, ts in enumerate(times):
        y: float = _PAD_TOP + plot_h
        tip = ", ".join(f"{name} {series[i]}" for name, series in stacks.items())
        parts.append(f"<g><title>{when(ts)} UTC: {escape(tip)}</title>")
        for name, series in stacks.items():
            h = plot_h * series[i] / top
            if h <= 0:
                continue
            y -= h
            parts.append(
                f'<rect class="c-{escape(name)}" x="{_num(_PAD_LEFT + slot * i + 1)}" y="{_num(y)}" '
                f'width="{_num(max(slot - 2, 1))}" height="{_num(h)}"/>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))  # built from numbers and escaped text


def percentile_bars(
    groups: Sequence[tuple[str, Sequence[float | None]]],
    names: Sequence[str],
    *,
    label: str,
    width: int = 560,
) -> Markup:
    """Horizontal bars of durations in milliseconds, one group per measure and one bar per percentile;
    None: no samples (no bar, "no data")."""
    bar_h, gap, left = 16, 14, 170
    top = nice_ceiling(max((v for _, vs in groups for v in vs if v is not None), default=0))
    height = len(groups) * (len(names) * (bar_h + 3) + gap) + 4
    parts = _open(label, width, height, "hbars")
    y = 2.0
    for title, values in groups:
        parts.append(f'<text class="axis group" x="0" y="{_num(y + bar_h - 3)}">{escape(title)}</text>')
        for name, value in zip(names, values, strict=True):
            span = 0.0 if value is None else (width - left - 70) * value / top
            shown = "no data" if value is None else duration(value)
            bar = (
                ""
                if value is None
                else f'<rect class="c-{escape(name)}" x="{left}" y="{_num(y)}" width="{_num(max(span, 1))}" '
                f'height="{bar_h}"/>'
            )
            parts.append(
                f"<g><title>{escape(title)}, {escape(name)}: {shown}</title>"
                f'<text class="axis" x="{left - 6}" y="{_num(y + bar_h - 4)}" text-anchor="end">'
                f"{escape(name)}</text>{bar}"
                f'<text class="axis" x="{_num(left + span + 6)}" y="{_num(y + bar_h - 4)}">{shown}</text></g>'
            )
            y += bar_h + 3
        y += gap
    parts.append("</svg>")
    return Markup("".join(parts))  # built from numbers and escaped text
