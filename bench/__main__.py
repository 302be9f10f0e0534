"""``python -m bench [--quick] [--rows 1,2,...] [--doc PATH | --no-doc]``: run, print, record.

The full run writes ``docs/benchmarks.md``; ``--quick`` (small sizes, what the test suite runs) writes
nothing unless ``--doc`` says where, so a smoke run never replaces a real table.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from importlib import metadata
from pathlib import Path
from types import ModuleType

from bench import _machine
from bench._generated import GENERATOR_VERSION, ensure_generated, import_generated
from bench._paths import DOC, WORK
from bench._plan import FULL, QUICK, Plan
from bench._procs import emulator
from bench._stats import Budget
from bench._table import Row, render_markdown

ALL_ROWS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13)
PAGE_EVENTS = 2_000  # the emulator the fixed page is taken from: any realistic newest page will do


def _log(start: float, message: str) -> None:
    print(f"[bench {time.perf_counter() - start:6.1f}s] {message}", file=sys.stderr, flush=True)


def _generated(start: float) -> tuple[Path | None, ModuleType | None, str]:
    _log(start, f"openapi-generator {GENERATOR_VERSION} client (generated once into bench/.work)")
    folder, why = ensure_generated()
    if folder is None:
        return None, None, why
    try:
        return folder, import_generated(folder), ""
    except ImportError as exc:  # its own dependencies (pydantic, urllib3, python-dateutil) missing
        return None, None, f"n/a: {type(exc).__name__}: {exc}"


def run(plan: Plan, rows_wanted: set[int], start: float) -> list[Row]:
    budget = Budget(plan.budget_s)
    # Imported here so `--help` stays instant.
    from bench.detect import detect_rows
    from bench.export import export_rows
    from bench.list_and_parse import fetch_page, list_rows, parse_rows
    from bench.pagination import pagination_rows
    from bench.report import report_rows
    from bench.service import service_rows
    from bench.ship import ship_rows
    from bench.startup import startup_row
    from bench.sync import backfill_rows, sync_rows

    WORK.mkdir(parents=True, exist_ok=True)
    unavailable: dict[str, str] = {}
    gen_folder, gen, why = _generated(start)
    if why:
        unavailable["generated"] = why
    rows: list[Row] = []
    if rows_wanted & {1, 2}:
        _log(start, "fetching a 100-event page from the emulator")
        with emulator(PAGE_EVENTS) as base_url:
            page = fetch_page(base_url)
        if 1 in rows_wanted:
            _log(start, "row 1: list call against the fixed-bytes server")
            rows += list_rows(plan, page, gen, unavailable)
        if 2 in rows_wanted:
            _log(start, "row 2: parsing")
            rows += parse_rows(plan, page, gen, unavailable)
    if 3 in rows_wanted:
        _log(start, "row 3: start-up")
        rows.append(startup_row(plan, gen_folder, unavailable))
    # The longest row first, then the rows whose extra rounds are dropped if time runs short.
    if 5 in rows_wanted or 7 in rows_wanted:
        _log(start, f"rows 5 and 7: sync of {plan.sync_events:,} events against the floor")
        rows += sync_rows(plan, budget)
    if 4 in rows_wanted:
        _log(start, f"row 4: pagination of {plan.paging_events:,} events")
        rows += pagination_rows(plan, budget, gen_folder, unavailable)
    if 6 in rows_wanted:
        _log(start, f"row 6: back-fill of {plan.backfill_events:,} events at {plan.backfill_latency_ms} ms")
        rows += backfill_rows(plan, budget)
    if rows_wanted & {8, 9}:
        _log(start, f"rows 8 and 9: ship of {plan.ship_events:,} archived events to PostgreSQL and files")
        rows += [r for r in ship_rows(plan, budget) if int(r.key.rstrip("abcdefgh")) in rows_wanted]
    if 10 in rows_wanted:
        _log(start, f"row 10: export of an archive of a {plan.export_events:,}-event emulator, raw/OCSF/ECS")
        rows += export_rows(plan, budget)
    if 11 in rows_wanted:
        _log(start, f"row 11: detection rules over {plan.detect_events:,} archived events")
        rows += detect_rows(plan, budget)
    if 12 in rows_wanted:
        _log(start, f"row 12: report of the archive of a {plan.export_events:,}-event emulator")
        rows += report_rows(plan, budget)
    if 13 in rows_wanted:
        _log(start, "row 13: CPU of a service cycle with nothing new")
        rows += service_rows(plan, budget)
    rows.sort(key=lambda r: (int(r.key.rstrip("abcdefgh")), r.key))
    return rows


def _versions() -> str:
    names = ["openapiopenai", "openai", "openapi-generator-cli", "httpx", "orjson", "msgspec", "pydantic", "urllib3",
             "psycopg", "pyarrow"]
    out = []
    for name in names:
        try:
            out.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name} (not installed)")
    return ", ".join(out)


def _row_number(key: str) -> int:
    return int(key.rstrip("abcdefgh"))


def _table_lines(markdown: str) -> dict[str, str]:
    """Row key -> its table line, from a report written by `document`."""
    return {line.split(" | ", 1)[0][2:]: line for line in markdown.splitlines()
            if line.startswith("| ") and not line.startswith("| # ")}


_KEPT = re.compile(r"^- Rows [\d, ]+ are from this run; (?P<older>.*), kept as they were$")
_OLDER = re.compile(r"rows (?P<rows>[\d, ]+) from the run of (?P<date>[^;]+)")


def _row_dates(report: str) -> dict[int, str]:
    """Row number -> the date of the run each row of a report is from (a partial run's report says
    which rows it kept from which earlier run)."""
    date = next((line.split(":", 1)[1].strip() for line in report.splitlines() if line.startswith("- Date:")), "?")
    dates = {_row_number(k): date for k in _table_lines(report)}
    for line in report.splitlines():
        match = _KEPT.match(line)
        if match:
            for older in _OLDER.finditer(match["older"]):
                dates.update({int(n): older["date"].strip() for n in older["rows"].split(",")})
    return dates


def keep_previous(table: str, previous: str, ran: set[int]) -> tuple[str, list[str], str]:
    """A partial run's table with the rows it did not run taken from the previous report as they were.

    Returns the merged table, the kept rows' "below goal" lines, and where the kept rows are from
    ("rows 4, 5 from the run of <date>", one part per earlier run)."""
    new = _table_lines(table)
    # Not only the rows asked for: a row that comes with one asked for (7 with 5) is new too.
    old = {k: line for k, line in _table_lines(previous).items() if _row_number(k) not in ran and k not in new}
    if not old:
        return table, [], ""
    head = [line for line in table.splitlines() if line.startswith(("| # ", "|---"))]
    merged = {**old, **new}
    lines = [merged[k] for k in sorted(merged, key=lambda k: (_row_number(k), k))]
    below = []
    for key in sorted(old, key=lambda k: (_row_number(k), k)):
        cells = [c.strip() for c in old[key].strip().strip("|").split(" | ")]
        if cells[-1].startswith("NOT met"):
            below.append(f"- row {key} ({cells[1]}): {cells[-1]}")
    dates = _row_dates(previous)
    by_date: dict[str, list[int]] = {}
    for number in sorted({_row_number(k) for k in old}):
        by_date.setdefault(dates.get(number, "?"), []).append(number)
    origin = "; ".join(f"rows {', '.join(map(str, rows))} from the run of {date}" for date, rows in by_date.items())
    return "\n".join(head + lines), below, origin


def document(table: str, rows: list[Row], machine: dict[str, str], command: str, seconds: float, plan: Plan,
             kept: tuple[list[str], str] = ([], "")) -> str:
    """The report. ``kept``: a partial run's rows taken from the previous report (their "below goal"
    lines and where they are from)."""
    below = [f"- row {r.key} ({r.title}): {r.verdict}" for r in rows if r.verdict.startswith("NOT met")]
    below += kept[0]
    ran = sorted({_row_number(r.key) for r in rows})
    partial = (f"\n- Rows {', '.join(map(str, ran))} are from this run; {kept[1]}, kept as they were"
               if kept[1] else "")
    return f"""# Benchmarks

This project against what a user would pick instead, measured on the same work in the same run:
the openapi-generator {GENERATOR_VERSION} Python client generated from the same spec, the official
`openai` SDK (`client.admin.organization.audit_logs`), and the floor (bare `httpx` + `orjson`).

- Date: {machine['date']}
- Machine: {machine['cores']} cores, {machine['cpu']}, {machine['os']}, {machine['python']}; 1-minute load
  average {machine['load']} at the start and {_machine.load_average()} at the end (others' work on this shared machine)
- Command: `{command}` ({plan.name} mode, {seconds / 60:.1f} minutes from start to table)
- Versions: {_versions()}{partial}

Each figure is the median of repeated runs with the contenders alternated, each round starting one
contender later (A B C D, B C D A, ...), so that drift on this shared machine hits all of them alike.
The `runs` column says how many runs each median is over: the whole run keeps within a
{plan.budget_s / 60:.0f}-minute budget, so the longest rows (5, and extra rounds of 4 and 6) get fewer
rounds when the machine is slow. In brackets: the cost relative to this
project (a contender's time or memory divided by ours, or our rate divided by theirs), so above 1.00x
means this project is faster or leaner. Sub-rows (`1a`, `2a`, `6a`) are relative to their parent row's
figure for this project. A contender that cannot do a row says why instead of a number. A listing
without `tenant_only` does not return tenant-scoped events (as on the real service), so an emulator
of N events lists fewer than N; each row names the count every contender had to read.

{table}

## What the rows measure

1. One `list_audit_logs(limit=100)` (or equivalent) call, in-process, each client reusing its keep-alive
   connection, against a separate process that answers every request with the same 100-event page taken
   from the emulator. Row `1a`: the same call, then every event fully built (every typed attribute the
   JSON carries, recursively, and the event's typed `payload`), since this project's models are lazy
   views and the generated client and SDK build everything up front. Row `1b`: the same call, then
   what an exporter reads from every event through each contender's typed objects (id, type,
   effective_at, actor type, actor email, session IP, project id and the typed payload object; the
   floor reads the same keys from its dicts).
2. The same page from bytes to the object a list call returns, with no network.
3. A new process: import the package and build the object that lists audit logs
   (`AuditLogsApi(ApiClient(Configuration(access_token=...)))`, its generated twin,
   `openai.OpenAI(admin_api_key=...).admin.organization.audit_logs`; floor: `import httpx`), spawn to exit.
4. Every event of an emulator (fixed seed) with `limit=100`, each contender in its own process; the rate
   counts the walk, not imports; `4a` is that process's peak RSS (`VmHWM`, polled). `4b` repeats the walk
   against an emulator that also sends event types newer than the spec.
5. `openapiopenai audit-logs sync --workers 1` into a fresh archive (rate over the whole CLI process,
   start-up included; the archive's row count is checked against the floor's) against the floor walking the same pages
   (GET with `after=last_id`, `orjson.loads`). The emulator database is generated once under `bench/.work`;
   one uncounted floor walk warms the emulator first (its first walk after a start is the slowest).
6. The same sync from an emulator adding {plan.backfill_latency_ms} ms per request, `--workers 1` against
   `--workers 8`.
7. The emulator itself, from the floor walks of row 5: events over the time spent inside the GETs, and
   the median time of one GET of a full page.
8. `openapiopenai audit-logs ship` of an archive (built from the emulator's generator) to PostgreSQL, the
   whole CLI process, into a fresh table of a server started from the machine's binaries (PostgreSQL's
   default durability and shared buffers); floor: one binary `COPY` of the same rows into the same table
   through psycopg 3, in one transaction. `8a`: peak RSS (`VmHWM`) of the ship processes, the largest of
   rows 8, 9 and 9a.
9. The same archive shipped to JSONL files partitioned by day (every file fsync'd before its batch
   counts); floor: SQLite reading the raw column into one file, fsync'd once. `9a`: to Parquet, same floor.
10. `openapiopenai audit-logs export --db` of an archive (made once by a sync of an emulator of
   {plan.export_events:,} events; full runs keep it under `bench/.work`) to a JSON-lines file: `--schema raw`
   copies the stored text, `10a`/`10b` map every event to OCSF 1.8.0 / ECS 9.4.0 (rate over the whole CLI
   process, start-up included; the event count written is checked).
11. `openapiopenai audit-logs detect` with every shipped Sigma rule over an archive built from the
   emulator's generator (no contender has such rules), warm: run before on the same copy (its page cache
   and converted rules); `11a` is the cold case, the archive's first `detect` (on a fresh copy: the rules
   read `audit_logs` itself, nothing is built first); `11b` a `detect --new` after a small batch of newly
   archived events.
12. `openapiopenai audit-logs report --db --no-detect` of row 10's archive over its whole span (90 days)
   to one self-contained HTML file: the process's wall time, start-up included; `12a` is the file's size,
   `12b` the process's peak RSS; `12c` the same report with the shipped detection rules run for its first
   section (the default), warm (run before on the same copy), its peak RSS in the note; `12d` the same,
   cold: the archive's first report with the rules, on a fresh copy.
13. One cycle of `openapiopenai run` for an organisation with nothing new (both partitions synced, the
   shipped rules at `high`, a file sink), in-process against the emulator in its own process: this
   process's CPU time over all its threads, per cycle, after a first cycle did the back-fill.

## Below goal in this run

{chr(10).join(below) if below else "Nothing: every goal was met."}
"""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds per row")
    parser.add_argument("--rows", default=",".join(map(str, ALL_ROWS)), help="comma-separated rows to run")
    parser.add_argument("--doc", type=Path, help=f"where to write the report (full mode default: {DOC})")
    parser.add_argument("--no-doc", action="store_true", help="print the table only")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    try:
        wanted = {int(r) for r in args.rows.split(",") if r.strip()}
    except ValueError:
        parser.error("--rows takes numbers such as 1,2,3")
    if not wanted <= set(ALL_ROWS):
        parser.error(f"--rows: choose from {ALL_ROWS}")

    start = time.perf_counter()
    machine = _machine.describe()
    rows = run(plan, wanted, start)
    seconds = time.perf_counter() - start
    table = render_markdown(rows)
    print(table)
    doc = None if args.no_doc else args.doc or (None if args.quick else DOC)
    if doc is not None:
        command = " ".join(["python -m bench", *argv])
        kept: tuple[list[str], str] = ([], "")
        if wanted != set(ALL_ROWS) and doc.exists():
            # A partial run replaces its own rows and keeps the others' figures from the last report.
            table, below, origin = keep_previous(table, doc.read_text(encoding="utf-8"), wanted)
            kept = (below, origin)
        doc.write_text(document(table, rows, machine, command, seconds, plan, kept), encoding="utf-8")
        _log(start, f"wrote {doc}")
    _log(start, "done")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
