"""The geometry of the coordinators' two charts, worked out here so the templates only place what they are given:
server-rendered SVG, no script. Each chart also has its table; the bars carry their value as text, so no colour
alone says anything."""

from __future__ import annotations

import math
from dataclasses import dataclass

WIDTH = 720
LABEL_WIDTH = 260  # the left column of the horizontal chart, where each row names its step and partner
BAR_HEIGHT = 18
AXIS_HEIGHT = 28
COLUMN_GAP = 4
PLOT_HEIGHT = 200
LABELS_MAX = 13  # week labels under the axis before they would run into each other


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # what the bar is (a step and partner, a week)
    value: str  # its value as text, shown beside or above it
    value_x: float
    value_y: float
    label_x: float
    label_y: float
    kind: str = "bar"
    labelled: bool = True  # whether its label is written under the axis (crowded weeks skip some)


@dataclass(frozen=True)
class Tick:
    at: float  # x (horizontal chart) or y (vertical chart)
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot_x: float
    plot_y: float
    plot_width: float
    plot_height: float
    bars: list[Bar]
    ticks: list[Tick]


def nice_ceiling(value: float) -> float:
    """The axis end: 1, 2, 2.5 or 5 times a power of ten, at or above the largest value."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power  # pragma: no cover - the loop always ends at 10


def _ticks(top: float, whole: bool = False) -> list[float]:
    """Four steps to the top; for counts, as many as keep every tick a whole number."""
    count = 4
    if whole:
        count = next(n for n in (5, 4, 2, 1) if (top / n).is_integer())
    return [top * i / count for i in range(count + 1)]


def _number(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def horizontal(rows: list[tuple[str, list[tuple[float, str, str]]]]) -> Chart:
    """One row per (label, bars), each bar (value, value as text, kind): a row's bars sit one under the other,
    rows in the order given. `kind` names the series, for its style and its legend."""
    top = nice_ceiling(max((value for _, bars in rows for value, _, _ in bars), default=0.0))
    plot_x, plot_width = float(LABEL_WIDTH), float(WIDTH - LABEL_WIDTH - 150)
    bars: list[Bar] = []
    y = 0.0
    for label, series in rows:
        row_height = max(len(series), 1) * (BAR_HEIGHT + 4) + 8
        for i, (value, text, kind) in enumerate(series):
            top_y = y + 4 + i * (BAR_HEIGHT + 4)
            width = plot_width * value / top
            bars.append(Bar(x=plot_x, y=top_y, width=width, height=BAR_HEIGHT, label=label if i == 0 else "",
                            value=text, value_x=plot_x + width + 6, value_y=top_y + BAR_HEIGHT - 5,
                            label_x=plot_x - 8, label_y=top_y + BAR_HEIGHT - 5, kind=kind))
        y += row_height
    ticks = [Tick(at=plot_x + plot_width * t / top, text=_number(t)) for t in _ticks(top)]
    return Chart(width=WIDTH, height=int(y + AXIS_HEIGHT), plot_x=plot_x, plot_y=0.0, plot_width=plot_width,
                 plot_height=y, bars=bars, ticks=ticks)


def vertical(columns: list[tuple[str, float, str]]) -> Chart:
    """One column per (label, count, count as text), left to right as given; labels under the axis."""
    top = nice_ceiling(max([4.0, *(value for _, value, _ in columns)]))
    plot_x, plot_y = 48.0, 16.0
    plot_width, plot_height = float(WIDTH - plot_x - 8), float(PLOT_HEIGHT)
    slot = plot_width / max(len(columns), 1)
    every = max(1, math.ceil(len(columns) / LABELS_MAX))
    bars = []
    for i, (label, value, text) in enumerate(columns):
        height = plot_height * value / top
        x = plot_x + i * slot + COLUMN_GAP / 2
        y = plot_y + plot_height - height
        bars.append(Bar(x=x, y=y, width=max(slot - COLUMN_GAP, 1.0), height=height, label=label, value=text,
                        value_x=x + (slot - COLUMN_GAP) / 2, value_y=y - 4, label_x=x + (slot - COLUMN_GAP) / 2,
                        label_y=plot_y + plot_height + 16, labelled=i % every == 0))
    ticks = [Tick(at=plot_y + plot_height - plot_height * t / top, text=_number(t)) for t in _ticks(top, whole=True)]
    return Chart(width=WIDTH, height=int(plot_y + plot_height + 40), plot_x=plot_x, plot_y=plot_y,
                 plot_width=plot_width, plot_height=plot_height, bars=bars, ticks=ticks)
