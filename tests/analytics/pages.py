"""Reading the dashboard's tables as a person (or a screen reader) reads them: every cell's
text, without what is there for screen readers only."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.current: list[list[str]] | None = None
        self.cell: list[str] | None = None
        self.hidden = 0  # depth inside a visually-hidden element
        self.caption = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.hidden or "visually-hidden" in (attrs.get("class") or "").split():
            self.hidden += 1
        if tag == "table" and attrs.get("data-figure"):
            self.current = self.tables.setdefault(attrs["data-figure"], [])
        elif tag == "tr" and self.current is not None:
            self.current.append([])
        elif tag in ("td", "th") and self.current is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if self.hidden:
            self.hidden -= 1
        if tag in ("td", "th") and self.cell is not None and self.current is not None:
            self.current[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "table":
            self.current = None

    def handle_data(self, data):
        if self.cell is not None and not self.hidden:
            self.cell.append(data)


def tables(html: str) -> dict[str, list[list[str]]]:
    """Each figure's table (by its slug): the header, then one list of cell texts a row."""
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def rows_of(html: str, slug: str, dims: int = 1) -> dict[str, list[str]]:
    """A figure's body rows: the numbers (as shown) by the row's `dims` labels joined with
    " · "."""
    return {" · ".join(cells[:dims]): cells[dims:] for cells in tables(html)[slug][1:]}


def csv_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))
