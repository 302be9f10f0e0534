"""A stand-in for Splunk's HTTP Event Collector with indexer acknowledgement, answering as Splunk's HEC docs
say ("Format events for HTTP Event Collector", "HTTP Event Collector indexer acknowledgment", and the table of
HEC status codes in "Troubleshoot HTTP Event Collector").

- ``Authorization: Splunk <token>``: none is 401 code 2 "Token is required", another scheme 401 code 3
  "Invalid authorization", an unknown token 403 code 4 "Invalid token", a disabled one 403 code 1.
- ``POST /services/collector/event``: concatenated JSON event objects; with acknowledgement on, the channel
  (``X-Splunk-Request-Channel`` or ``?channel=``) is required (400 code 10, code 11 when not a GUID); no data
  is 400 code 5; unparsable JSON 400 code 6, a missing ``event`` 400 code 12, an index the token may not
  write 400 code 7, each with ``invalid-event-number``; success is ``{"text":"Success","code":0,"ackId":N}``,
  ack ids counting from 0 per channel. Events are held until their ack is reported: then they are indexed.
- ``POST /services/collector/ack``: ``{"acks":[0,1]}`` -> ``{"acks":{"0":true,"1":false}}``; a true ack is
  reported once and then forgotten, as Splunk does. `ack_after_polls` holds acks back for that many polls;
  `forget_acks()` is an indexer restart (pending acks, and their events, gone: those acks stay false).
- ``GET /services/collector/health``: code 17; `busy` makes every call 503 code 9 "Server is busy".
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from _net_http import Request, Response, StandIn

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _code(status: int, code: int, text: str, **extra: Any) -> Response:
    return Response.json(status, {"text": text, "code": code, **extra})


class HecStandIn(StandIn):
    def __init__(self, *, token: str = "11111111-2222-3333-4444-555555555555", ack: bool = True,
                 indexes: tuple[str, ...] = ("main", "audit"), tls: Any = None) -> None:
        super().__init__(tls=tls)
        self.token = token
        self.disabled = False
        self.ack = ack
        self.indexes = indexes
        self.busy = False
        self.ack_after_polls = 0
        self.indexed: list[dict[str, Any]] = []
        """Every event Splunk has acknowledged as indexed (or, with acks off, accepted)."""
        self._next_ack: dict[str, int] = {}
        self._pending: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self._polls: dict[tuple[str, int], int] = {}

    def forget_acks(self, *, indexed: bool = False) -> None:
        """An indexer restart: pending acks are gone; `indexed` says whether their events made it anyway
        (then a re-send stores them twice, as at-least-once allows)."""
        with self._lock:
            if indexed:
                for events in self._pending.values():
                    self.indexed.extend(events)
            self._pending.clear()

    def new_channel(self) -> str:
        return str(uuid.uuid4())

    def handle(self, request: Request) -> Response | str:
        if self.busy:
            return _code(503, 9, "Server is busy")
        if request.path == "/services/collector/health":
            return _code(200, 17, "HEC is healthy")
        auth = request.headers.get("authorization")
        if auth is None:
            return _code(401, 2, "Token is required")
        scheme, _, token = auth.partition(" ")
        if scheme != "Splunk" or not token:
            return _code(401, 3, "Invalid authorization")
        if token != self.token:
            return _code(403, 4, "Invalid token")
        if self.disabled:
            return _code(403, 1, "Token disabled")
        channel = request.headers.get("x-splunk-request-channel") or request.query.get("channel")
        if request.path in ("/services/collector/event", "/services/collector"):
            return self._events(request.body, channel)
        if request.path == "/services/collector/ack":
            return self._acks(request.body, channel)
        return Response.json(404, {"text": "The requested URL was not found on this server.", "code": 404})

    def _channel_error(self, channel: str | None) -> Response | None:
        if channel is None:
            return _code(400, 10, "Data channel is missing")
        if not _GUID.fullmatch(channel):
            return _code(400, 11, "Invalid data channel")
        return None

    def _events(self, body: bytes, channel: str | None) -> Response:
        if self.ack and (error := self._channel_error(channel)):
            return error
        text = body.decode("utf-8", "replace")
        if not text.strip():
            return _code(400, 5, "No data")
        events: list[dict[str, Any]] = []
        decoder = json.JSONDecoder()
        position = 0
        while position < len(text):
            while position < len(text) and text[position].isspace():
                position += 1
            if position == len(text):
                break
            try:
                event, position = decoder.raw_decode(text, position)
            except ValueError:
                return _code(400, 6, "Invalid data format", **{"invalid-event-number": len(events)})
            if not isinstance(event, dict) or "event" not in event:
                return _code(400, 12, "Event field is required", **{"invalid-event-number": len(events)})
            if event["event"] in ("", None):
                return _code(400, 13, "Event field cannot be blank", **{"invalid-event-number": len(events)})
            if "index" in event and event["index"] not in self.indexes:
                return _code(400, 7, "Incorrect index", **{"invalid-event-number": len(events)})
            events.append(event)
        if not self.ack:
            self.indexed.extend(events)
            return _code(200, 0, "Success")
        assert channel is not None
        ack_id = self._next_ack.get(channel, 0)
        self._next_ack[channel] = ack_id + 1
        self._pending[(channel, ack_id)] = events
        return _code(200, 0, "Success", ackId=ack_id)

    def _acks(self, body: bytes, channel: str | None) -> Response:
        if not self.ack:
            return _code(400, 14, "ACK is disabled")
        if error := self._channel_error(channel):
            return error
        assert channel is not None
        try:
            asked = json.loads(body)["acks"]
        except (ValueError, KeyError, TypeError):
            return _code(400, 6, "Invalid data format")
        status = {}
        for ack_id in asked:
            key = (channel, int(ack_id))
            polls = self._polls[key] = self._polls.get(key, 0) + 1
            done = key in self._pending and polls > self.ack_after_polls
            if done:
                self.indexed.extend(self._pending.pop(key))
            status[str(ack_id)] = done
        return Response.json(200, {"acks": status})
