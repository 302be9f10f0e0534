"""One contender paging through every event, in a process of its own (``python -m bench._child``).

The parent reads the peak RSS of this process; this process prints one JSON line: how many events it
read, how long the walk took (imports and client set-up excluded: row 3 measures those), and the error
that stopped it, if any. A walk that fails part-way reports the failure, never a rate.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from bench._contenders import Floor, generated_api, ours_api, sdk_resource
from bench._paths import ADMIN_KEY


class Progress:
    """Events read so far, kept outside the walk so a failure can say how far it got."""

    events = 0


Walk = Callable[[Progress], dict[str, Any]]


def prepare(contender: str, base_url: str) -> Walk:
    """Import and build the contender's client now; return the walk, which returns extra facts."""
    if contender == "ours":
        api = ours_api(base_url, ADMIN_KEY)

        def walk_ours(progress: Progress) -> dict[str, Any]:
            for _ in api.iter_audit_logs(limit=100):
                progress.events += 1
            return {}

        return walk_ours
    if contender == "sdk":
        resource = sdk_resource(base_url, ADMIN_KEY)

        def walk_sdk(progress: Progress) -> dict[str, Any]:
            # The SDK's auto-pagination follows after=last_id while has_more.
            for _ in resource.list(limit=100):
                progress.events += 1
            return {}

        return walk_sdk
    if contender == "generated":
        import openapi_client

        gapi = generated_api(openapi_client, base_url, ADMIN_KEY)

        def walk_generated(progress: Progress) -> dict[str, Any]:
            after = None
            while True:
                page = gapi.list_audit_logs(limit=100, after=after)
                progress.events += len(page.data)
                if not page.has_more:
                    return {}
                after = page.last_id

        return walk_generated
    floor = Floor(base_url, ADMIN_KEY)

    def walk_floor(progress: Progress) -> dict[str, Any]:
        # Each GET (send to last byte) is timed apart from its JSON decode, so the same walk also
        # tells how fast the server answers a page.
        get_times: list[float] = []
        after = None
        clock = time.perf_counter
        while True:
            t0 = clock()
            response = floor.client.get("/organization/audit_logs",
                                        params={"limit": 100, **({"after": after} if after else {})})
            response.raise_for_status()
            get_times.append(clock() - t0)
            page = floor.loads(response.content)
            progress.events += len(page["data"])
            if not page["has_more"]:
                break
            after = page["last_id"]
        return {"get_seconds": sum(get_times), "median_get_ms": statistics.median(get_times) * 1000,
                "pages": len(get_times)}

    return walk_floor


def main() -> None:
    _, command, contender, base_url = sys.argv
    assert command == "walk", command
    walk = prepare(contender, base_url)
    result: dict[str, Any] = {"contender": contender, "error": None}
    progress = Progress()
    start = time.perf_counter()
    try:
        result.update(walk(progress))
    except Exception as exc:
        # E.g. the generated client meeting an event type newer than its enum: say what and where.
        first_line = str(exc).splitlines()[0][:100] if str(exc) else ""
        result["error"] = f"{type(exc).__name__} after {progress.events:,} events ({first_line})"
    result["seconds"] = time.perf_counter() - start
    result["events"] = progress.events
    print(json.dumps(result))


if __name__ == "__main__":
    main()
