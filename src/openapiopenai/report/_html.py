"""The report as one self-contained HTML file: opens offline, survives e-mail, prints.

Nothing in it is fetched: the styles are inline, the charts are inline SVG, there is no script, and a
Content-Security-Policy of ``default-src 'none'`` tells the browser to refuse any request a future
change might slip in. Every value that came from the service (names, e-mails, user agents, ...) is
HTML-escaped where it is written: a user agent ``<script>`` is shown as text. Print styles start each
section on a new page, repeat table headers, and keep rows and charts whole.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable

from openapiopenai.report._model import Report, Section, Table

__all__ = ["render_html"]

_CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
  color: #1a1a1a; background: #fff; margin: 0 auto; max-width: 1180px; padding: 24px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 0 0 6px; border-bottom: 2px solid #0072B2; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.meta { color: #555; margin: 0 0 12px; }
.meta code, td.event, .hint code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 12px; }
nav.toc ol { margin: 8px 0 20px; padding-left: 22px; columns: 2; }
section.report-section { margin: 0 0 36px; }
.summary { margin: 0 0 10px; font-size: 15px; }
figure.chart { margin: 10px 0 16px; }
figure.chart svg { width: 100%; height: auto; display: block; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 6px; font-size: 12.5px; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
caption .count { font-weight: 400; color: #555; }
th, td { text-align: left; vertical-align: top; padding: 3px 6px; border-bottom: 1px solid #ddd;
  overflow-wrap: anywhere; }
th { background: #f0f4f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.event, td.nowrap { white-space: nowrap; overflow-wrap: normal; }
.none { color: #555; font-style: italic; }
.hint { color: #555; font-size: 12px; margin: 0 0 10px; }
.hook { border-left: 4px solid #E69F00; padding-left: 8px; }
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  body { max-width: none; padding: 0; font-size: 10pt; }
  nav.toc { display: none; }
  section.report-section { break-before: page; }
  section.report-section:first-of-type { break-before: auto; }
  thead { display: table-header-group; }
  tr, figure.chart { break-inside: avoid; }
  h2, h3, caption { break-after: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""
_NUMERIC = {"events", "created", "deleted", "failures", "invitations", "alerts"}
#: Short values that read badly when broken across lines.
_NOWRAP = {"time (UTC)", "latest (UTC)", "first seen (UTC)", "ip", "country", "severity"}


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(table: Table) -> str:
    if not table.rows:
        return f'<h3>{_e(table.title)}</h3>\n<p class="none">None in this period.</p>\n'
    shown = len(table.rows)
    count = f"{table.total:,} rows" if shown == table.total else f"showing {shown:,} of {table.total:,}"
    kinds = ["event" if i == len(table.columns) - 1 else "num" if c in _NUMERIC else "nowrap" if c in _NOWRAP else ""
             for i, c in enumerate(table.columns)]
    out = [
        f'<table data-table="{_e(table.title)}">',
        f'<caption>{_e(table.title)} <span class="count">({count})</span></caption>',
        "<thead><tr>" + "".join(f'<th scope="col">{_e(c)}</th>' for c in table.columns) + "</tr></thead>",
        "<tbody>",
    ]
    for row in table.rows:
        cells = "".join(
            f'<td class="{kind}">{_e(v)}</td>' if kind else f"<td>{_e(v)}</td>" for v, kind in zip(row, kinds, strict=True)
        )
        out.append(f"<tr>{cells}</tr>")
    out.append("</tbody></table>")
    if shown < table.total:
        rest = f" The whole list: <code>{_e(table.hint)}</code>" if table.hint else ""
        out.append(f'<p class="hint more">{table.total - shown:,} more not shown.{rest}</p>')
    return "\n".join(out) + "\n"


def _section(number: int, section: Section, svg: Callable[..., str]) -> str:
    hook = " hook" if section.key == "detections" and not section.tables else ""
    parts = [
        f'<section class="report-section" id="{_e(section.key)}" data-section="{_e(section.key)}">',
        f"<h2>{number}. {_e(section.title)}</h2>",
        f'<p class="summary{hook}">{_e(section.summary)}</p>',
    ]
    for chart in section.charts:
        parts.append(f'<figure class="chart" data-chart="{_e(chart.key)}">{svg(chart)}</figure>')
    parts.extend(_table(t) for t in section.tables)
    parts.append("</section>")
    return "\n".join(parts)


def _when(at: int | None) -> str:
    return "-" if at is None else time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))


def render_html(report: Report) -> str:
    from openapiopenai.report._charts import render_svg

    period = f"{_when(report.since)} to {_when(report.until)}"
    toc = "".join(
        f'<li><a href="#{_e(s.key)}">{_e(s.title)}</a></li>' for s in report.sections
    )
    body = "\n".join(_section(i, s, render_svg) for i, s in enumerate(report.sections, 1))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Access review, {_e(period)}</title>
<style>{_CSS}</style>
</head>
<body>
<header>
<h1>Access review</h1>
<p class="meta">Period {_e(period)} &middot; {report.events:,} events &middot; archive <code>{_e(report.archive)}</code>
(events from {_e(_when(report.archive_first))} to {_e(_when(report.archive_last))}) &middot;
written {_e(_when(report.generated_at))} by openapiopenai. Every row names its event id:
<code>openapiopenai audit-logs list --db FILE --search ID</code> finds it.</p>
<nav class="toc"><ol>{toc}</ol></nav>
</header>
<main>
{body}
</main>
</body>
</html>
"""
