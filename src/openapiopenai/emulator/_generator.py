"""Deterministic audit-log events for a simulated organisation.

One seed gives one organisation and one stream of events, byte for byte: every draw comes from a
`random.Random(seed)` in a fixed order, nothing reads the wall clock, and nothing iterates a set.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from itertools import accumulate
from typing import Any

from openapiopenai.emulator._org import Organisation, Person, build_organisation, hexstr
from openapiopenai.emulator._payloads import (
    CONNECTOR_TYPES,
    PayloadContext,
    build_payload_builders,
    family_of,
)
from openapiopenai.models._schemas import EVENT_TYPES

# Types the official SDK 3.57.0 knows and the spec does not (spec README, fact 5).
NEWER_TYPES: tuple[str, ...] = (
    "external_storage.registered",
    "external_storage.removed",
    "tenant.trusted_access.business_verification.started",
    "tenant.trusted_access.application.submitted",
)
KNOWN_TYPES: frozenset[str] = frozenset(EVENT_TYPES) | frozenset(NEWER_TYPES)
# 2026-11-01T00:00:00Z: generated history ends here unless told otherwise, so output never depends on
# when it was generated.
DEFAULT_END = 1_793_491_200
SECONDS_PER_DAY = 86_400

# How often a real organisation's log shows each type, relative to the default weight of 1.
_WEIGHTS = {
    "login.succeeded": 40.0, "login.failed": 8.0, "logout.succeeded": 14.0, "logout.failed": 0.5,
    "api_key.created": 6.0, "api_key.updated": 3.0, "api_key.deleted": 3.0,
    "project.updated": 2.0, "user.added": 2.0, "user.updated": 1.5, "invite.sent": 2.0,
    "invite.accepted": 1.5, "rate_limit.updated": 1.5, "service_account.created": 1.2,
}
_TENANT_WEIGHT = 0.12
_NEWER_WEIGHT = 0.03
# Burst sizes (events sharing an actor and mostly the same second) and their relative frequency.
_BURST_SIZES = (1, 2, 3, 4, 5, 6, 8)
_BURST_WEIGHTS = (40, 20, 14, 10, 7, 5, 4)
_SESSION_ONLY_FAMILIES = frozenset({"login", "logout"})
# Families whose events are scoped to a project (they carry `project`); others are org- or tenant-wide.
_PROJECT_FAMILIES = frozenset({
    "api_key", "service_account", "user", "project", "rate_limit", "checkpoint_permission",
    "workload_identity_provider_mapping",
})


def is_tenant_scoped(event_type: str) -> bool:
    """The spec's rule: tenant-scoped events are listed only with `tenant_only=true`, and then only they."""
    return event_type.startswith("tenant.") or event_type in CONNECTOR_TYPES


def _weight(event_type: str) -> float:
    if event_type in NEWER_TYPES:
        return _NEWER_WEIGHT
    if event_type.startswith("tenant."):
        return _TENANT_WEIGHT
    return _WEIGHTS.get(event_type, 0.6)


class Generator:
    """Draws an organisation from `seed`, then events of it.

    `events()` is the reproducible history; `complete()` fills in partial events (control API inserts and
    live events) from a second RNG, so inserting never perturbs the history of the same seed.
    """

    def __init__(self, seed: int, *, newer_types: bool = False) -> None:
        self.seed = seed
        self.newer_types = newer_types
        rng = random.Random(seed)
        self.org: Organisation = build_organisation(rng)
        self.types: tuple[str, ...] = EVENT_TYPES + (NEWER_TYPES if newer_types else ())
        self._cum_weights = list(accumulate(_weight(t) for t in self.types))
        self._builders = build_payload_builders(self.types + NEWER_TYPES)
        # Per-type facts looked up once, not re-derived for each of a million events.
        self._facts = {
            t: (family_of(t), is_tenant_scoped(t),
                family_of(t) in _PROJECT_FAMILIES and not is_tenant_scoped(t), family_of(t) in _SESSION_ONLY_FAMILIES)
            for t in self.types + NEWER_TYPES
        }
        # Materialise every resource pool now, in type order, so the pools do not depend on which
        # events happen to be drawn first.
        for event_type in self.types + NEWER_TYPES:
            self.org.resource_id(rng, family_of(event_type))
        self._projects = {p["id"]: p for p in self.org.projects}
        self._rng = rng
        self._completion_rng = random.Random(f"complete-{seed}")

    # -- the reproducible history ------------------------------------------------------------------

    def events(self, n_events: int, *, days: float = 90.0, end: int | None = None,
               batch: int = 20_000) -> Iterator[list[dict[str, Any]]]:
        """Yield `n_events` events, oldest first, in lists of at most `batch`."""
        rng = self._rng
        end = DEFAULT_END if end is None else end
        span = max(1, int(days * SECONDS_PER_DAY))
        # Every type at least once when there is room, so a default history exercises the whole spec.
        sequence = list(self.types) if n_events >= len(self.types) else []
        sequence += rng.choices(self.types, cum_weights=self._cum_weights, k=n_events - len(sequence))
        rng.shuffle(sequence)

        sizes: list[int] = []
        total = 0
        while total < n_events:
            size = min(rng.choices(_BURST_SIZES, _BURST_WEIGHTS)[0], n_events - total)
            sizes.append(size)
            total += size
        starts = sorted(end - span + int(rng.random() * span) for _ in sizes)

        seen: set[str] = set()
        out: list[dict[str, Any]] = []
        position = 0
        for start, size in zip(starts, sizes, strict=True):
            person, key_index = self._burst_actor(rng)
            ts = start
            for i in range(size):
                if i and rng.random() < 0.25:
                    ts = min(end, ts + rng.randint(1, 2))
                event_id = self._new_id(rng, seen)
                out.append(self._event(rng, event_id, sequence[position], ts, person, key_index))
                position += 1
            if len(out) >= batch:
                yield out
                out = []
        if out:
            yield out

    @staticmethod
    def _new_id(rng: random.Random, seen: set[str]) -> str:
        while True:
            event_id = "audit_log-" + hexstr(rng, 24)
            if event_id not in seen:
                seen.add(event_id)
                return event_id

    def _burst_actor(self, rng: random.Random) -> tuple[Person, int | None]:
        """A burst is one person at one device, or one API key: most bursts are people in a browser."""
        person = rng.choice(self.org.people)
        key_index = rng.randrange(len(self.org.keys)) if rng.random() < 0.3 else None
        return person, key_index

    def _event(self, rng: random.Random, event_id: str, event_type: str, ts: int,
               person: Person, key_index: int | None) -> dict[str, Any]:
        family, tenant, project_family, session_only = self._facts[event_type]
        org = self.org
        project: dict[str, str] | None = None
        if key_index is not None and not session_only:
            key = org.keys[key_index]
            actor = key.actor
            # Admin-key actions are associated with the key's (default) project, as the spec notes.
            if not tenant:
                project = key.project
        else:
            sessions = person.sessions
            actor = sessions[0] if len(sessions) == 1 else sessions[rng.randrange(len(sessions))]
        resource_id = org.resource_id(rng, family, event_type.rsplit(".", 1)[-1])
        if family == "project":
            project = self._projects[resource_id]
        elif project_family and project is None:
            project = org.projects[rng.randrange(len(org.projects))]
        payload = self._builders[event_type](rng, PayloadContext(org, family, resource_id))
        event: dict[str, Any] = {"id": event_id, "type": event_type, "effective_at": ts}
        if project is not None:
            event["project"] = project
        event["actor"] = actor
        event[event_type] = payload
        return event

    # -- completion of partial events --------------------------------------------------------------

    def complete(self, partial: dict[str, Any], *, now: int, taken: set[str] | None = None) -> dict[str, Any]:
        """Fill what `partial` lacks (id, type, effective_at, actor, project, payload), keeping what it has.

        Keys come out in the canonical order (id, type, effective_at, project, actor, payload, extras), so
        a completed event is stored and served exactly like a generated one.
        """
        rng = self._completion_rng
        event_type = partial.get("type")
        if event_type is None:
            event_type = rng.choices(self.types, cum_weights=self._cum_weights)[0]
        event_id = partial.get("id")
        if event_id is None:
            event_id = self._new_id(rng, taken if taken is not None else set())
        effective_at = partial.get("effective_at")
        if effective_at is None:
            effective_at = now
        person, key_index = self._burst_actor(rng)
        template = self._event(rng, event_id, event_type, effective_at, person, key_index) \
            if event_type in self._builders else self._unknown_event(rng, event_id, event_type, effective_at, person)
        event: dict[str, Any] = {"id": event_id, "type": event_type, "effective_at": effective_at}
        for key in ("project", "actor", event_type):
            if key in partial:
                event[key] = partial[key]
            elif key in template:
                event[key] = template[key]
        for key, value in partial.items():
            event.setdefault(key, value)
        return event

    def _unknown_event(self, rng: random.Random, event_id: str, event_type: str, ts: int,
                       person: Person) -> dict[str, Any]:
        """A type nobody declared yet (a test's made-up one): the live service would still send it."""
        actor = person.sessions[rng.randrange(len(person.sessions))]
        return {"id": event_id, "type": event_type, "effective_at": ts, "actor": actor,
                event_type: {"id": self.org.resource_id(rng, family_of(event_type))}}
