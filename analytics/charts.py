"""A figure's chart, laid out on the server as horizontal bars for an SVG template
(templates/analytics/_chart.html): one group of bars per row, one bar per series, an optional
whisker (the interquartile range), the zero line and the axis ticks. No script draws it."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from analytics.display import Table
from analytics.stats import number

WIDTH = 720
LABEL_X = 8
PLOT_X0 = 232
PLOT_X1 = WIDTH - 56
BAR_H = 14
BAR_GAP = 3
GROUP_GAP = 12
LEGEND_H = 26
AXIS_H = 40
LABEL_CHARS = 34
LINE_H = 14


@dataclass(frozen=True)
class Bar:
    series: int
    x: float
    y: float
    width: float
    text: str  # the number beside the bar ("<5", "—" when there is no bar)
    text_x: float
    text_anchor: str
    title: str
    href: str | None
    whisker: tuple[float, float] | None

    @property
    def mid_y(self) -> float:
        return self.y + BAR_H / 2

    @property
    def text_y(self) -> float:
        return self.y + BAR_H - 3

    @property
    def whisker_x1(self) -> float:
        return self.whisker[0] if self.whisker else 0

    @property
    def whisker_x2(self) -> float:
        return self.whisker[1] if self.whisker else 0


@dataclass(frozen=True)
class Group:
    y: float
    height: float
    lines: tuple[str, ...]
    title: str
    bars: tuple[Bar, ...]

    @property
    def label_y(self) -> float:
        return self.y + BAR_H - 3


@dataclass(frozen=True)
class Tick:
    x: float
    text: str


@dataclass(frozen=True)
class LegendItem:
    series: int
    x: float
    text: str


@dataclass(frozen=True)
class Chart:
    slug: str
    title: str
    label: str  # the SVG's aria-label: what it shows, and where the numbers are
    width: int
    height: float
    groups: tuple[Group, ...]
    ticks: tuple[Tick, ...]
    zero_x: float
    plot_top: float
    plot_bottom: float
    legend: tuple[LegendItem, ...]
    bar_h: int = BAR_H
    plot_x0: int = PLOT_X0
    plot_x1: int = PLOT_X1
    unit: str = ""

    @property
    def picture(self) -> SafeString:
        """The chart as an SVG image: role="img", its aria-label and a <title>; each bar a
        rect with its own <title>."""
        return render_picture(self)

    @property
    def links(self) -> SafeString:
        """The bars' links, drawn over the picture for the mouse (hidden from assistive
        technology and out of the tab order: the table's numbers carry the same links)."""
        return render_links(self)

    @property
    def unit_x(self) -> float:
        return (self.plot_x0 + self.plot_x1) / 2

    @property
    def tick_y(self) -> float:
        return self.plot_bottom + 16

    @property
    def hit_width(self) -> int:
        return self.plot_x1 - self.plot_x0

    @property
    def unit_y(self) -> float:
        return self.plot_bottom + 34


def _nice_step(span: float) -> float:
    raw = span / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _domain(values: list[float]) -> tuple[float, float, float]:
    low, high = min([0.0, *values]), max([0.0, *values])
    if high == low:
        high = low + 1
    step = _nice_step(high - low)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[:LABEL_CHARS - 1] + "…"


def bar_chart(shown: Table, *, href: Callable[[str, str], str | None]) -> Chart | None:
    """The chart of `shown`'s rows marked for it (None when there is none): `href(row, column)`
    is the drill-down address of a bar, or None."""
    figure = shown.figure
    rows = [row for row in shown.rows if row.in_chart]
    if not rows:
        return None
    # A label the rows all share (the one step a chart shows, the one currency) is not repeated.
    varying = [i for i in range(len(figure.dimensions))
               if len({row.labels[i] for row in rows}) > 1] or [0]
    values = []
    for row in rows:
        for series in figure.series:
            for key in (series.column, series.low, series.high):
                value = row.cell(key).value if key else None
                if value is not None:
                    values.append(float(value))
    low, high, step = _domain(values)

    def x(value: float) -> float:
        return round(PLOT_X0 + (value - low) / (high - low) * (PLOT_X1 - PLOT_X0), 1)

    zero = x(0)
    top = LEGEND_H if len(figure.series) > 1 else 10
    groups, y = [], float(top)
    names = {column.key: column.label for column in figure.columns}
    for row in rows:
        title = " · ".join(row.labels)
        bars = []
        for index, series in enumerate(figure.series):
            cell = row.cell(series.column)
            bar_y = y + index * (BAR_H + BAR_GAP)
            value = None if cell.value is None else float(cell.value)
            end = zero if value is None else x(value)
            whisker = None
            if series.low and series.high:
                lo, hi = row.cell(series.low).value, row.cell(series.high).value
                if lo is not None and hi is not None:
                    whisker = (x(float(lo)), x(float(hi)))
            right = max(end, whisker[1] if whisker else end)
            left = min(end, whisker[0] if whisker else end)
            negative = value is not None and value < 0
            basis = cell.column.basis if not cell.column.drill else cell.column.key
            link = None
            if basis and row.cell(basis).drill:
                link = href(row.key, basis)
            bars.append(Bar(index, min(zero, end), bar_y, abs(end - zero), cell.text,
                            left - 4 if negative else right + 4, "end" if negative else "start",
                            f"{title}: {names[series.column]} {cell.text}", link, whisker))
        lines = tuple(_short(row.labels[i]) for i in varying)
        # Room for the bars, and for every line of the row's label.
        height = max(len(figure.series) * (BAR_H + BAR_GAP) - BAR_GAP, LINE_H * len(lines))
        groups.append(Group(y, height, lines, title, tuple(bars)))
        y += height + GROUP_GAP
    plot_bottom = y - GROUP_GAP + 6
    ticks, tick = [], low
    while tick <= high + step / 1000:
        ticks.append(Tick(x(tick), number(tick)))
        tick += step
    legend, legend_x = [], float(LABEL_X)
    if len(figure.series) > 1:
        for index, series in enumerate(figure.series):
            legend.append(LegendItem(index, legend_x, names[series.column]))
            legend_x += 22 + 7 * len(names[series.column])
    shown_series = " and ".join(names[series.column].lower() for series in figure.series)
    label = (f"{figure.title}: bar chart of {shown_series} ({figure.unit}) by "
             f"{' and '.join(figure.dimensions[i].lower() for i in varying)}. "
             "The numbers are in the table below.")
    return Chart(figure.slug, figure.title, label, WIDTH, plot_bottom + AXIS_H,
                 tuple(groups), tuple(ticks), zero, float(top) - 4, plot_bottom,
                 tuple(legend), unit=figure.unit)


def render_picture(chart: Chart) -> SafeString:
    """The SVG picture of `chart` (built here rather than in a template loop: a dashboard
    draws hundreds of bars)."""
    parts = [format_html(
        '<svg class="chart-picture" viewBox="0 0 {} {}" width="100%" role="img" '
        'aria-label="{}" xmlns="http://www.w3.org/2000/svg"><title>{}</title>',
        chart.width, chart.height, chart.label, chart.title)]
    parts.append(format_html_join("", (
        '<line class="grid" x1="{0}" x2="{0}" y1="{1}" y2="{2}"/>'
        '<text class="tick" x="{0}" y="{3}" text-anchor="middle">{4}</text>'),
        ((t.x, chart.plot_top, chart.plot_bottom, chart.tick_y, t.text) for t in chart.ticks)))
    parts.append(format_html('<text class="unit" x="{}" y="{}" text-anchor="middle">{}</text>',
                             chart.unit_x, chart.unit_y, chart.unit))
    parts.append(format_html_join("", (
        '<rect class="bar series-{0}" x="{1}" y="4" width="12" height="12"/>'
        '<text class="legend" x="{2}" y="14">{3}</text>'),
        ((i.series, i.x, i.x + 16, i.text) for i in chart.legend)))
    for group in chart.groups:
        lines = format_html_join("", '<tspan x="8" dy="{}"{}>{}</tspan>', (
            (LINE_H if n else 0, mark_safe(' class="row-label-2"') if n else "", line)
            for n, line in enumerate(group.lines)))
        parts.append(format_html('<g class="bar-group"><text class="row-label" x="8" y="{}">{}'
                                 '</text>', group.label_y, lines))
        for bar in group.bars:
            parts.append(format_html(
                '<rect class="bar series-{}" x="{}" y="{}" width="{}" height="{}">'
                '<title>{}</title></rect>', bar.series, bar.x, bar.y, bar.width, BAR_H,
                bar.title))
            if bar.whisker:
                parts.append(format_html(
                    '<line class="whisker" x1="{}" x2="{}" y1="{}" y2="{}"/>',
                    bar.whisker_x1, bar.whisker_x2, bar.mid_y, bar.mid_y))
            parts.append(format_html('<text class="value" x="{}" y="{}" text-anchor="{}">{}'
                                     '</text>', bar.text_x, bar.text_y, bar.text_anchor,
                                     bar.text))
        parts.append(mark_safe("</g>"))
    parts.append(format_html('<line class="zero" x1="{0}" x2="{0}" y1="{1}" y2="{2}"/></svg>',
                             chart.zero_x, chart.plot_top, chart.plot_bottom))
    return format_html_join("", "{}", ((part,) for part in parts))


def render_links(chart: Chart) -> SafeString:
    links = format_html_join("", (
        '<a href="{}" tabindex="-1" class="bar-link"><title>{}: list the patients</title>'
        '<rect class="hit" x="{}" y="{}" width="{}" height="{}"/></a>'),
        ((bar.href, bar.title, chart.plot_x0, bar.y, chart.hit_width, BAR_H)
         for group in chart.groups for bar in group.bars if bar.href))
    return format_html('<svg class="chart-links" viewBox="0 0 {} {}" width="100%" '
                       'aria-hidden="true" focusable="false" '
                       'xmlns="http://www.w3.org/2000/svg">{}</svg>',
                       chart.width, chart.height, links)
