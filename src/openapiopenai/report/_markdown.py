"""The report as plain text (Markdown): the same sections and tables, the charts as day counts.

Cells are escaped for Markdown tables and for the HTML a Markdown viewer would otherwise render: a
``|`` cannot split a cell, and a user agent ``<script>`` stays text. ``_`` is left alone (ids are full
of it, and CommonMark never reads an underscore inside a word as emphasis).
"""

from __future__ import annotations

import time

from openapiopenai.report._model import Chart, Report, Table

__all__ = ["render_markdown"]


def _cell(value: str) -> str:
    text = " ".join(value.split())  # a newline inside a value would end the table row
    for char, escaped in (("\\", "\\\\"), ("|", "\\|"), ("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"),
                          ("`", "\\`"), ("*", "\\*"), ("[", "\\["), ("]", "\\]")):
        text = text.replace(char, escaped)
    return text


def _table(table: Table) -> list[str]:
    lines = [f"### {_cell(table.title)}", ""]
    if not table.rows:
        return [*lines, "None in this period.", ""]
    if len(table.rows) < table.total:
        rest = f" The whole list: `{table.hint}`" if table.hint else ""
        lines += [f"Showing {len(table.rows):,} of {table.total:,}: {table.total - len(table.rows):,} more not shown.{rest}",
                  ""]
    lines.append("| " + " | ".join(_cell(c) for c in table.columns) + " |")
    lines.append("|" + "|".join("---" for _ in table.columns) + "|")
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in table.rows]
    return [*lines, ""]


def _chart(chart: Chart) -> list[str]:
    # A chart's numbers, as a small table: what the picture would have shown.
    table = Table(chart.title, ("", *(_cell(name) for name, _ in chart.series)),
                  [(label, *(f"{values[i]:,}" for _, values in chart.series)) for i, label in enumerate(chart.labels)],
                  len(chart.labels))
    return _table(table)


def _when(at: int | None) -> str:
    return "-" if at is None else time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))


def render_markdown(report: Report) -> str:
    lines = [
        "# Access review",
        "",
        f"Period {_when(report.since)} to {_when(report.until)}; {report.events:,} events; archive "
        f"`{report.archive}` (events from {_when(report.archive_first)} to {_when(report.archive_last)}); "
        f"written {_when(report.generated_at)} by openapiopenai. Every row names its event id.",
        "",
    ]
    for number, section in enumerate(report.sections, 1):
        lines += [f"## {number}. {_cell(section.title)}", "", _cell(section.summary), ""]
        for table in section.tables:
            lines += _table(table)
        for chart in section.charts:
            lines += _chart(chart)
    return "\n".join(lines).rstrip() + "\n"
