"""Rows 1 and 2: one list call of a 100-event page from a fixed-bytes server, and parsing that page.

All contenders run in this process, interleaved, each with its own long-lived client so the
connection is reused as it would be in a real loop. The server is a separate process that answers
every request with the same bytes, so what differs between contenders is the client alone.
"""

from __future__ import annotations

from types import ModuleType

import httpx

from bench._contenders import CONTENDERS, list_call, materialised_page, page_parser, typed_reader
from bench._paths import ADMIN_KEY
from bench._plan import Plan
from bench._procs import fixed_server
from bench._stats import interleave, median, time_batch
from bench._table import Cell, Row

__all__ = ["fetch_page", "list_rows", "parse_rows"]


def fetch_page(base_url: str) -> bytes:
    """The newest 100-event page of the emulator: the fixed bytes rows 1 and 2 use."""
    response = httpx.get(f"{base_url}/organization/audit_logs", params={"limit": 100},
                         headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=60)
    response.raise_for_status()
    return response.content


def _cells(samples: dict[str, list[float]], scale: float, unavailable: dict[str, str]) -> dict[str, Cell]:
    cells = {name: Cell(median(values) * scale, "", len(values)) for name, values in samples.items()
             if name in CONTENDERS}
    for name, why in unavailable.items():
        cells[name] = Cell(None, why)
    return cells


def _ratio_goals(row: Row) -> str:
    """Issue 2's three ratios: ours <= 1.3x floor, generated > 5x ours, SDK > 20x ours."""
    ours, floor = row.value("ours"), row.value("floor")
    parts, ok = [], True
    if ours and floor:
        r = ours / floor
        ok &= r <= 1.3
        parts.append(f"{r:.2f}x floor")
    for name, label, need in (("generated", "generated", 5), ("sdk", "SDK", 20)):
        r_c = row.ratio(name)
        if r_c is None:
            parts.append(f"{label} n/a")
            continue
        ok &= r_c > need
        parts.append(f"{label} {r_c:.1f}x")
    return ("met: " if ok else "NOT met: ") + ", ".join(parts)


TYPED = "typed:"  # the prefix of row 1b's measures: the list call, then the typed reads


def _typed_goals(row: Row) -> str:
    """Issue 14's goal for typed access: ours <= 1.3x floor, generated >= 2.5x and SDK >= 6x ours."""
    ours, floor = row.value("ours"), row.value("floor")
    parts, ok = [], True
    if ours and floor:
        ok &= ours / floor <= 1.3
        parts.append(f"{ours / floor:.2f}x floor")
    for name, label, need in (("generated", "generated", 2.5), ("sdk", "SDK", 6)):
        r_c = row.ratio(name)
        if r_c is None:
            parts.append(f"{label} n/a")
            continue
        ok &= r_c >= need
        parts.append(f"{label} {r_c:.2f}x")  # two decimals: 2.46x must not print as 2.5x
    return ("met: " if ok else "NOT met: ") + ", ".join(parts)


def list_rows(plan: Plan, page: bytes, gen: ModuleType | None, unavailable: dict[str, str]) -> list[Row]:
    with fixed_server(page) as base_url:
        calls = {name: list_call(name, base_url, ADMIN_KEY, gen) for name in CONTENDERS if name not in unavailable}
        ours = calls["ours"]
        measures = {name: (lambda fn=fn: time_batch(fn, plan.list_calls)) for name, fn in calls.items()}
        measures["ours-materialised"] = lambda: time_batch(lambda: materialised_page(ours()), plan.list_calls)
        for name, fn in calls.items():
            read = typed_reader(name)
            measures[TYPED + name] = lambda fn=fn, read=read: time_batch(lambda: read(fn()), plan.list_calls)
        samples = interleave(measures, plan.list_rounds)
    kb = len(page) / 1024
    row = Row("1", f"one list call, 100-event page ({kb:.0f} KB), fixed-bytes loopback server", "ms",
              cells=_cells(samples, 1000, unavailable),
              goal="ours <= 1.3x floor; generated > 5x, SDK > 20x ours")
    row.verdict = _ratio_goals(row)
    floor = row.value("floor")
    mat = median(samples["ours-materialised"]) * 1000
    sub = Row("1a", "same, ours with every event materialised (typed attributes and payload built)", "ms",
              cells={"ours": Cell(mat, "", plan.list_rounds)}, reference=row.value("ours"),
              goal="ours <= 2x floor (ratio is to lazy ours)")
    sub.verdict = (("met: " if mat / floor <= 2 else "NOT met: ") + f"{mat / floor:.2f}x floor") if floor else "—"
    typed = {name[len(TYPED):]: values for name, values in samples.items() if name.startswith(TYPED)}
    read = Row("1b", "same call, then read id, type, effective_at, actor type and email, session IP, project id "
                     "and the typed payload from every event (floor: the same from the dicts)", "ms",
               cells=_cells(typed, 1000, unavailable),
               goal="ours <= 1.3x floor; generated >= 2.5x, SDK >= 6x ours")
    read.verdict = _typed_goals(read)
    return [row, sub, read]


def parse_rows(plan: Plan, page: bytes, gen: ModuleType | None, unavailable: dict[str, str]) -> list[Row]:
    parsers = {name: page_parser(name, gen) for name in CONTENDERS if name not in unavailable}
    ours = parsers["ours"]
    measures = {name: (lambda fn=fn: time_batch(lambda: fn(page), plan.parse_calls)) for name, fn in parsers.items()}
    measures["ours-materialised"] = lambda: time_batch(lambda: materialised_page(ours(page)), plan.parse_calls)
    samples = interleave(measures, plan.parse_rounds)
    row = Row("2", "parse the same page from bytes (ours: _parse.parse_page; generated: from_json; "
                   "SDK: json + construct_type; floor: orjson.loads)", "µs",
              cells=_cells(samples, 1e6, unavailable), goal="(none stated)")
    floor = row.value("floor")
    ours_v = row.value("ours")
    row.verdict = f"info: {ours_v / floor:.2f}x floor" if ours_v and floor else "—"
    mat = median(samples["ours-materialised"]) * 1e6
    sub = Row("2a", "same, ours with every event materialised", "µs",
              cells={"ours": Cell(mat, "", plan.parse_rounds)}, reference=ours_v,
              goal="(not a goal; ratio is to lazy ours)")
    sub.verdict = f"info: {mat / floor:.2f}x floor" if floor else "—"
    return [row, sub]
