"""The access-review report: one HTML file (or Markdown) of what changed in an archive's period.

    from openapiopenai.archive import Archive
    from openapiopenai.report import build_report, write_report

    with Archive("audit.sqlite", create=False, readonly=True) as archive:
        report = build_report(archive, since=..., until=...)
    write_report(report, "report.html")            # or format="md"

Sections, most important first: detections that fired (when the caller passes `detections`),
privileged changes, the key inventory, people, sign-ins, activity over time. Every row names its
event id. The HTML is self-contained (inline styles, inline SVG charts, no script, no request) and
printable; see `_html`. Charts need the optional extra ``report`` (pygal); the Markdown needs nothing.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING

from openapiopenai.report._charts import ChartsUnavailable
from openapiopenai.report._detections import detection_matches
from openapiopenai.report._model import Chart, DetectionMatch, Detections, Report, Section, Table

if TYPE_CHECKING:
    from openapiopenai.archive import Archive

__all__ = [
    "FORMATS",
    "Chart",
    "ChartsUnavailable",
    "DetectionMatch",
    "Detections",
    "Report",
    "Section",
    "Table",
    "build_report",
    "detection_matches",
    "render",
    "write_report",
]

FORMATS = ("html", "md")


def build_report(
    archive: Archive,
    *,
    since: int,
    until: int,
    detections: Detections | Sequence[DetectionMatch] | None = None,
) -> Report:
    """Gather the report of ``[since, until)`` (unix seconds) from both partitions of ``archive``.

    ``detections``: the detection rules' matches for the period (`detection_matches` gives them);
    None when they were not run, which the report says in their section.
    """
    from openapiopenai.report._gather import gather

    return gather(archive.connection, str(archive.path), since, until, detections=detections)


def render(report: Report, format: str = "html") -> str:
    if format == "html":
        from openapiopenai.report._html import render_html

        return render_html(report)
    if format == "md":
        from openapiopenai.report._markdown import render_markdown

        return render_markdown(report)
    raise ValueError(f"report format {format!r}: use one of {', '.join(FORMATS)}")


def write_report(report: Report, path: str | os.PathLike[str], *, format: str = "html") -> int:
    """Write the report to ``path``; it appears only when complete. Returns its size in bytes."""
    data = render(report, format).encode("utf-8")
    target = os.path.abspath(path)
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise ValueError(f"{path}: directory {folder} does not exist")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(target) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp's 0600: a review names people and addresses; the reader chooses whom to share it with.
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return len(data)
