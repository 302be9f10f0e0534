"""A stand-in for the Elasticsearch and OpenSearch endpoints the search sink touches: `/` and `_bulk`.

It answers as the servers document (Elasticsearch's bulk API reference; OpenSearch's `_bulk` reference):
- `GET /`: the cluster info. Elasticsearch puts ``X-Elastic-Product: Elasticsearch`` on every answer; the
  official client refuses a 2xx without it, so the stand-in can be told to leave it off.
- `POST /_bulk` and `POST /{target}/_bulk`: NDJSON action/source pairs, one result per item in order, with
  ``errors`` true when any item failed; ``create`` of an existing ``_id`` is a per-item 409
  ``version_conflict_engine_exception``; a data stream (Elasticsearch's built-in ``logs-*-*`` template)
  takes only ``create`` and needs ``@timestamp``; documents `reject` picks fail as mapping errors (400
  ``document_parsing_exception``); `item_faults` gives ids a 429 ``es_rejected_execution_exception`` or a 503
  for their next attempts.
- A missing or wrong credential is a 401 ``security_exception`` with a ``WWW-Authenticate`` challenge.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from _net_http import Request, Response, StandIn

_ERROR_TYPES = {429: "es_rejected_execution_exception", 503: "unavailable_shards_exception",
                500: "exception"}


def _error(status: int, kind: str, reason: str) -> dict[str, Any]:
    cause = {"type": kind, "reason": reason}
    return {"error": {"root_cause": [cause], **cause}, "status": status}


class SearchStandIn(StandIn):
    def __init__(self, flavour: str = "elasticsearch", *, username: str = "elastic",
                 password: str = "es-secret-pw", api_key: str | None = None, tls: Any = None,
                 product_header: bool = True) -> None:
        super().__init__(tls=tls)
        self.flavour = flavour
        self._basic = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self._api_key = None if api_key is None else f"ApiKey {api_key}"
        if flavour == "elasticsearch" and product_header:
            self.common_headers = {"X-Elastic-Product": "Elasticsearch"}
        self.indices: dict[str, dict[str, Mapping[str, Any]]] = {}
        """Target name (data stream or index) -> _id -> the stored source."""
        self.item_faults: dict[str, deque[int]] = {}
        self.reject: Callable[[Mapping[str, Any]], bool] = lambda doc: False
        self.bulk_items = 0
        self.created = 0
        """Items stored (a 201): more than the stored documents would mean an event stored twice."""
        self.conflicts = 0
        self._data_lock = threading.Lock()

    def stored(self, target: str) -> dict[str, Mapping[str, Any]]:
        return self.indices.get(target, {})

    def fail_items(self, ids: list[str], *statuses: int) -> None:
        """Give each of `ids` these per-item statuses on its next attempts, in order."""
        for event_id in ids:
            self.item_faults.setdefault(event_id, deque()).extend(statuses)

    def handle(self, request: Request) -> Response | str:
        auth = request.headers.get("authorization")
        if auth not in (self._basic, self._api_key) or auth is None:
            return Response.json(401, _error(401, "security_exception",
                                             f"missing authentication credentials for REST request [{request.path}]"),
                                 {"WWW-Authenticate": 'Basic realm="security" charset="UTF-8"'})
        mimetype = ("application/vnd.elasticsearch+json;compatible-with=9"
                    if "vnd.elasticsearch" in request.headers.get("accept", "") else "application/json")
        if request.method in ("GET", "HEAD") and request.path == "/":
            return Response(200, json.dumps(self._info()).encode(), {"Content-Type": mimetype})
        if request.method in ("POST", "PUT") and request.path.endswith("/_bulk"):
            default = request.path[1:-len("/_bulk")] or None
            body = self._bulk(request.body, default)
            return Response(200, json.dumps(body).encode(), {"Content-Type": mimetype})
        return Response.json(404, _error(404, "resource_not_found_exception", f"no handler for {request.path}"))

    def _info(self) -> dict[str, Any]:
        if self.flavour == "opensearch":
            return {"name": "standin", "cluster_name": "standin", "cluster_uuid": "c0ffee",
                    "version": {"distribution": "opensearch", "number": "2.17.0", "lucene_version": "9.11.1",
                                "minimum_wire_compatibility_version": "7.10.0",
                                "minimum_index_compatibility_version": "7.0.0"},
                    "tagline": "The OpenSearch Project: https://opensearch.org/"}
        return {"name": "standin", "cluster_name": "standin", "cluster_uuid": "c0ffee",
                "version": {"number": "9.1.0", "build_flavor": "default", "lucene_version": "10.2.2",
                            "minimum_wire_compatibility_version": "8.19.0",
                            "minimum_index_compatibility_version": "8.0.0"},
                "tagline": "You Know, for Search"}

    def _bulk(self, body: bytes, default: str | None) -> dict[str, Any]:
        lines = [line for line in body.split(b"\n") if line.strip()]
        items: list[dict[str, Any]] = []
        position = 0
        while position < len(lines):
            action = json.loads(lines[position])
            ((op, meta),) = action.items()
            source = json.loads(lines[position + 1]) if op != "delete" else {}
            position += 2 if op != "delete" else 1
            items.append({op: self._item(op, meta, source, default)})
        errors = any(next(iter(item.values()))["status"] >= 300 for item in items)
        return {"errors": errors, "took": 3, "items": items}

    def _item(self, op: str, meta: Mapping[str, Any], source: Mapping[str, Any],
              default: str | None) -> dict[str, Any]:
        target = meta.get("_index") or default
        doc_id = meta.get("_id")
        data_stream = self.flavour == "elasticsearch" and target is not None and target.startswith("logs-") \
            and target.count("-") >= 2
        index = f".ds-{target}-2026.12.01-000001" if data_stream else target
        result: dict[str, Any] = {"_index": index, "_id": doc_id}

        def failed(status: int, kind: str, reason: str) -> dict[str, Any]:
            return {**result, "status": status, "error": {"type": kind, "reason": reason, "index": index}}

        with self._data_lock:
            self.bulk_items += 1
            if data_stream and op != "create":
                return failed(400, "illegal_argument_exception",
                              "only write ops with an op_type of create are allowed in data streams")
            if data_stream and "@timestamp" not in source:
                return failed(400, "document_parsing_exception",
                              "[1:2] failed to parse: data stream timestamp field [@timestamp] is missing")
            faults = self.item_faults.get(str(doc_id))
            if faults:
                status = faults.popleft()
                return failed(status, _ERROR_TYPES.get(status, "exception"),
                              f"rejected execution of coordinating operation [{doc_id}]")
            if self.reject(source):
                return failed(400, "document_parsing_exception",
                              f"[1:40] failed to parse field [openai] of type [keyword] in document with id "
                              f"'{doc_id}'. Preview of field's value: '{{}}'")
            docs = self.indices.setdefault(str(target), {})
            if doc_id in docs:
                self.conflicts += 1
                return failed(409, "version_conflict_engine_exception",
                              f"[{doc_id}]: version conflict, document already exists (current version [1])")
            docs[str(doc_id)] = source
            self.created += 1
        return {**result, "_version": 1, "result": "created", "status": 201, "_seq_no": len(docs) - 1,
                "_primary_term": 1, "_shards": {"total": 2, "successful": 1, "failed": 0}}
