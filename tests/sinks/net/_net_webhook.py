"""A webhook receiver: checks the bearer token and the HMAC signature, keeps what it was sent.

It honours ``Idempotency-Key`` as the IETF draft describes (a key seen before is answered 200 and not
stored again), and counts every event it was sent, so a test sees both what a receiver that de-duplicates
holds and what one that does not would hold.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from _net_http import Request, Response, StandIn


class WebhookReceiver(StandIn):
    def __init__(self, *, secret: str | None = None, token: str | None = None, tls: Any = None) -> None:
        super().__init__(tls=tls)
        self.secret = secret
        self.token = token
        self.by_key: dict[str, list[str]] = {}
        """Idempotency-Key -> the NDJSON lines of the first request with that key."""
        self.received: list[str] = []
        """Every line of every acknowledged request, repeats included."""

    def handle(self, request: Request) -> Response | str:
        if self.token is not None and request.headers.get("authorization") != f"Bearer {self.token}":
            return Response(401, b"bad token", {"Content-Type": "text/plain"})
        if self.secret is not None:
            stamp = request.headers.get("x-openapiopenai-timestamp", "")
            mac = hmac.new(self.secret.encode(), f"{stamp}.".encode() + request.body, hashlib.sha256)
            if request.headers.get("x-openapiopenai-signature") != f"sha256={mac.hexdigest()}":
                return Response(401, b"bad signature", {"Content-Type": "text/plain"})
        if request.headers.get("content-type") != "application/x-ndjson":
            return Response(415, b"", {})
        key = request.headers.get("idempotency-key")
        if not key:
            return Response.json(400, {"error": "Idempotency-Key is required"})
        lines = request.body.decode().splitlines()
        self.received += lines
        self.by_key.setdefault(key, lines)
        return Response.json(200, {"accepted": len(lines)})

    def stored(self) -> list[str]:
        """The lines a de-duplicating receiver holds, in arrival order."""
        return [line for lines in self.by_key.values() for line in lines]

    def ids(self, lines: list[str]) -> list[str]:
        return [json.loads(line)["id"] for line in lines]
