"""The briefing as data: what every renderer (HTML, PDF, DOCX) draws, already formatted.

Numbers are formatted once, here, in the briefing's language, so the PDF, the Word file and the
HTML page show the same strings, and a narrative sentence can be checked against the tables: every
number a sentence cites (`Sentence.numbers`) is a string that also stands in a table cell.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

#: A number as written in the briefing: digits with thousands separators and a decimal part.
NUMBER_RE = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")


def _now() -> dt.datetime:
    """Wall-clock time in the bureau's zone, for the reader (the store itself stamps UTC instants)."""
    from landdesk.settings import local_now
    return local_now().replace(microsecond=0)


def numbers_in(text: str) -> list[str]:
    """The numbers written in `text` (unsigned; 万/亿/%/units are not part of the token)."""
    return NUMBER_RE.findall(text)


@dataclass
class Table:
    """A table of formatted cells. `status` (optional, one per row) colours a row's status cell."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""                         # shown under the table (source, scope, truncation)
    empty_text: str = ""                   # shown instead of the table when it has no rows
    status: list[str] = field(default_factory=list)   # green / amber / red / "" per row
    numeric: list[bool] = field(default_factory=list)  # right-align column i
    label: str = ""                        # its number within the section, （一） (briefing.numbering)

    def cell_numbers(self) -> set[str]:
        return {n for row in self.rows for cell in row for n in numbers_in(cell)}


@dataclass
class Chart:
    """A chart: the Plotly figure and, once rendered, its PNG. `note` explains a missing chart."""

    key: str
    title: str
    figure: object | None = None           # plotly.graph_objects.Figure
    png: bytes | None = None
    note: str = ""
    width: int = 900
    height: int = 420


@dataclass
class Sentence:
    """One narrative sentence and the numbers it cites (each also stands in a table)."""

    text: str
    numbers: list[str] = field(default_factory=list)
    level: str = "info"                    # info | warning


@dataclass
class Section:
    key: str
    title: str
    intro: list[str] = field(default_factory=list)   # plain notes: scope, "no data" statements
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    label: str = ""                        # its number, 一、 (briefing.numbering)


@dataclass
class Briefing:
    """One week's briefing in one language."""

    lang: str
    week: str                              # ISO week, e.g. 2026-W43
    start: dt.date                         # Monday
    end: dt.date                           # Sunday
    bureau: str
    title: str
    subtitle: str                          # the week and its dates, in words
    meta: list[tuple[str, str]]            # title-block facts: data as of, generated, compared with …
    kpi_table: Table
    narrative: list[Sentence]
    sections: list[Section]
    definitions: list[tuple[str, str]]
    notices: list[str] = field(default_factory=list)  # "no data this week" and similar, shown up front
    mark: str = ""                         # 密级 / 内部资料 mark at the top (LANDDESK_BRIEFING_MARK)
    issuer: str = ""                       # 发文机关 signed at the end with the date (LANDDESK_BRIEFING_ISSUER)
    issue: str = ""                        # 期号 in the red header, e.g. 2026年第20期
    labels: dict[str, str] = field(default_factory=dict)   # numbers of the summary / kpis / definitions headings
    generated_at: dt.datetime = field(default_factory=lambda: _now())

    @property
    def tables(self) -> list[Table]:
        return [self.kpi_table] + [t for s in self.sections for t in s.tables]

    @property
    def charts(self) -> list[Chart]:
        return [c for s in self.sections for c in s.charts]

    def table_numbers(self) -> set[str]:
        out: set[str] = set()
        for table in self.tables:
            out |= table.cell_numbers()
        return out

    def unbacked_numbers(self) -> list[tuple[str, str]]:
        """(sentence, number) pairs where a narrative number stands in no table cell — should be none."""
        cells = self.table_numbers()
        return [(s.text, n) for s in self.narrative for n in numbers_in(s.text) if n not in cells]

    def file_stem(self) -> str:
        return f"briefing-{self.week}-{self.lang}"
