"""One contender paging through every event, in a process of its own (``python -m bench._child``).

The parent reads the peak RSS of this process; this process prints one JSON line: how many events it
read, how long the walk took (imports and client set-up excluded), and the error that stopped it, if
any. A walk that fails part-way reports the failure, never a rate.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any

from bench._contenders import Floor, generated_api, ours_api, sdk_resource
from bench._paths import ADMIN_KEY


def walk(contender: str, base_url: str) -> tuple[int, dict[str, Any]]:
    """Events read, and extra facts about the walk."""
    n = 0
    if contender == "ours":
        for _ in ours_api(base_url, ADMIN_KEY).iter_audit_logs(limit=100):
            n += 1
        return n, {}
    if contender == "sdk":
        # The SDK's auto-pagination follows after=last_id while has_more.
        for _ in sdk_resource(base_url, ADMIN_KEY).list(limit=100):
            n += 1
        return n, {}
    if contender == "generated":
        import openapi_client

        api = generated_api(openapi_client, base_url, ADMIN_KEY)
        after = None
        while True:
            page = api.list_audit_logs(limit=100, after=after)
            n += len(page.data)
            if not page.has_more:
                return n, {}
            after = page.last_id
    # The floor, timing each GET (send to last byte) apart from its JSON decode, so the same walk
    # also tells how fast the server answers a page.
    floor = Floor(base_url, ADMIN_KEY)
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
        n += len(page["data"])
        if not page["has_more"]:
            break
        after = page["last_id"]
    return n, {"get_seconds": sum(get_times), "median_get_ms": statistics.median(get_times) * 1000,
               "pages": len(get_times)}


def main() -> None:
    _, command, contender, base_url = sys.argv
    assert command == "walk"
    start = time.perf_counter()
    result: dict[str, Any] = {"contender": contender, "error": None}
    try:
        n, extra = walk(contender, base_url)
        result.update(events=n, **extra)
    except Exception as exc:
        # E.g. the generated client meeting an event type newer than its enum.
        result.update(events=None, error=f"{type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}")
    result["seconds"] = time.perf_counter() - start
    print(json.dumps(result))


if __name__ == "__main__":
    main()
