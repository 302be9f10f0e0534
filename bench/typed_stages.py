"""Row 1b by instruction count, stage by stage: where typed access to one page spends its instructions,
beside the floor's.

    python -m bench.typed_stages [PAGE.json]

Wall time on this machine drifts with the other work on it (row 1b read 1.35x and 1.18x the floor 17
minutes apart); cachegrind's instruction counts do not. Each stage runs in a child process under
``valgrind --tool=cachegrind`` twice, over 0 and over ``PAGES`` pages, and the difference divided by
``PAGES`` is its cost per page: start-up, imports and the warm-up pages (which build the per-type body
decoders) cancel out. The stages of a contender are cumulative (each does the previous one's work and
one step more), so the table gives each step's own cost as well. The ``call`` stages go through the list
call to a fixed-bytes loopback server (a separate process, not counted); the others parse the page's
bytes in process. The page is the bench's (the newest 100 events of a 2,000-event emulator) unless a
file is given.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench._paths import ADMIN_KEY, ROOT

__all__ = ["STAGES", "stage_work"]

PAGES = 40  # per-page costs settle to within a few hundred instructions by then
WARM_UP = 3  # pages read before counting: they build the decoders of the page's event types
PAGE_EVENTS = 2_000  # as `python -m bench`: the fixed page is the newest of this many events

#: contender -> its cumulative stages, each with what it adds.
STAGES: dict[str, list[tuple[str, str]]] = {
    "ours": [
        ("heads", "parse_page: the envelope and every event's head, one pass"),
        ("split", "+ the events' bytes split out and the event objects built (page.data)"),
        ("bodies", "+ every event's typed body decoded"),
        ("reads", "+ the row 1b reads from every event"),
    ],
    "floor": [
        ("loads", "orjson.loads of the page"),
        ("reads", "+ the same reads from the dicts"),
    ],
    "call": [
        ("ours-lazy", "list_audit_logs(limit=100), nothing read (row 1)"),
        ("ours-typed", "list_audit_logs(limit=100), then the row 1b reads"),
        ("floor", "httpx + orjson.loads (row 1's floor)"),
        ("floor-typed", "httpx + orjson.loads, then the same reads from the dicts (row 1b's floor)"),
    ],
}


def stage_work(contender: str, stage: str, page: bytes, base_url: str | None = None) -> Callable[[], object]:
    """The zero-argument callable doing one page's worth of a stage."""
    from bench._contenders import list_call, typed_reader

    if contender == "call":
        assert base_url is not None, "the call stages need the fixed-bytes server"
        name = "ours" if stage.startswith("ours") else "floor"
        call = list_call(name, base_url, ADMIN_KEY, None)
        if not stage.endswith("-typed"):
            return call
        read = typed_reader(name)
        return lambda: read(call())
    if contender == "floor":
        import orjson

        loads, read_dicts = orjson.loads, typed_reader("floor")
        return (lambda: loads(page)) if stage == "loads" else (lambda: read_dicts(loads(page)))
    from openapiopenai._parse import parse_page
    from openapiopenai.models.list_audit_logs_response import ListAuditLogsResponse

    def heads() -> Any:
        return parse_page(page, ListAuditLogsResponse)

    def split() -> Any:
        return heads()._event_list()

    def bodies() -> Any:
        events = split()
        for event in events:
            event._typed or event._body()
        return events

    read_models = typed_reader("ours")
    return {"heads": heads, "split": split, "bodies": bodies,
            "reads": lambda: read_models(heads())}[stage]


def _plain(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A read row of ours in its JSON form (the event type's value, the payload's dict), as the floor reads."""
    *head, payload = row
    head[1] = getattr(head[1], "value", head[1])
    return (*head, payload.to_dict() if payload is not None else None)


def check(page: bytes) -> int:
    """Run every offline stage once and check that ours reads what the floor reads, so the ratio compares
    like with like; returns the number of events read. Raises ``AssertionError`` when they differ."""
    results = {(c, s): stage_work(c, s, page)() for c, stages in STAGES.items() if c != "call" for s, _ in stages}
    ours, floor = results["ours", "reads"], results["floor", "reads"]
    assert isinstance(ours, list) and isinstance(floor, list)
    assert [_plain(r) for r in ours] == floor, "ours and the floor read different values"
    events = results["ours", "bodies"]
    assert isinstance(events, list) and len(events) == len(ours)
    assert all(e._typed is not None for e in events), "the bodies stage left a body undecoded"
    return len(ours)


def _child(contender: str, stage: str, pages: int, page_file: str, base_url: str | None) -> None:
    work = stage_work(contender, stage, Path(page_file).read_bytes(), base_url)
    for _ in range(WARM_UP + pages):
        work()


def _instructions(args: list[str]) -> int:
    out = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
         sys.executable, "-m", "bench.typed_stages", "--child", *args],
        capture_output=True, text=True, cwd=ROOT, timeout=900, check=True,
    )
    found = re.search(r"I\s+refs:\s+([\d,]+)", out.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count in cachegrind's output: {out.stderr[-300:]}")
    return int(found.group(1).replace(",", ""))


def per_page(contender: str, stage: str, page_file: str, base_url: str | None = None) -> float:
    tail = [page_file] + ([base_url] if base_url else [])
    idle = _instructions([contender, stage, "0", *tail])
    busy = _instructions([contender, stage, str(PAGES), *tail])
    return (busy - idle) / PAGES


def _page_file(given: str | None, folder: str) -> str:
    if given:
        return given
    from bench._procs import emulator
    from bench.list_and_parse import fetch_page

    path = Path(folder) / "page.json"
    with emulator(PAGE_EVENTS) as base_url:
        path.write_bytes(fetch_page(base_url))
    return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.typed_stages", description=__doc__.split("\n\n")[0])
    parser.add_argument("page", nargs="?", help="a page body (JSON) to read instead of the bench's")
    parser.add_argument("--check", action="store_true",
                        help="only check that the stages run and ours reads what the floor reads")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.check:
        if not args.page:
            parser.error("--check needs a page file")
        print(f"ok: {check(Path(args.page).read_bytes())} events read alike")
        return 0
    if args.child:
        contender, stage, pages, page_file, *url = args.child
        _child(contender, stage, int(pages), page_file, url[0] if url else None)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 1
    from bench._procs import fixed_server

    with tempfile.TemporaryDirectory(prefix="typed-stages-") as folder:
        page_file = _page_file(args.page, folder)
        check(Path(page_file).read_bytes())
        costs: dict[tuple[str, str], float] = {}
        with fixed_server(Path(page_file).read_bytes()) as base_url:
            for contender, stages in STAGES.items():
                previous = 0.0
                print(f"{contender}:")
                for stage, what in stages:
                    cost = costs[contender, stage] = per_page(
                        contender, stage, page_file, base_url if contender == "call" else None)
                    step = cost - previous if contender != "call" else cost
                    print(f"  {stage:<12} {cost:>12,.0f} Ir/page  ({step:>+12,.0f})  {what}", flush=True)
                    previous = cost
    ours, floor = costs["ours", "reads"], costs["floor", "reads"]
    typed, typed_floor = costs["call", "ours-typed"], costs["call", "floor-typed"]
    lazy, lazy_floor = costs["call", "ours-lazy"], costs["call", "floor"]
    print(f"parse + reads: ours {ours / floor:.2f}x the floor; row 1b (call + reads) {typed / typed_floor:.2f}x; "
          f"row 1 (lazy call) {lazy / lazy_floor:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
