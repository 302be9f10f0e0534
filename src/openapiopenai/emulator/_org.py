"""The simulated organisation: projects, people, service accounts, keys, sessions and resource pools.

Everything here is drawn from one `random.Random`, so one seed always yields the same organisation.
Events reference these objects again and again, which is what makes the actor and resource filters
return interesting (non-empty, non-total) sets, as they would for a real organisation.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

FIRST_NAMES = (
    "ada", "alan", "grace", "linus", "margaret", "ken", "barbara", "dennis", "frances", "edsger",
    "radia", "tim", "sophie", "niklaus", "leslie", "hedy", "donald", "katherine", "john", "yukihiro",
    "guido", "annie", "brian", "carol", "jean", "mary", "shafi", "whitfield", "adele", "ivan",
)
LAST_NAMES = (
    "lovelace", "turing", "hopper", "torvalds", "hamilton", "thompson", "liskov", "ritchie", "allen",
    "dijkstra", "perlman", "lee", "wilson", "wirth", "lamport", "lamarr", "knuth", "johnson", "backus",
    "matsumoto", "rossum", "easley", "kernighan", "shaw", "sammet", "keller", "goldwasser", "diffie",
)
PROJECT_WORDS = (
    "Default project", "Support Copilot", "Search Ranking", "Data Platform", "Internal Tools",
    "Voice Agent", "Fraud Signals", "Docs Assistant", "Marketing Studio", "Eval Harness",
)
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
)
# (country, city, region, region_code, asn, latitude, longitude): strings, as in the spec's example.
LOCATIONS = (
    ("US", "San Francisco", "California", "CA", "7922", "37.77490", "-122.41940"),
    ("US", "New York", "New York", "NY", "701", "40.71280", "-74.00600"),
    ("US", "Seattle", "Washington", "WA", "16509", "47.60620", "-122.33210"),
    ("US", "Austin", "Texas", "TX", "11427", "30.26720", "-97.74310"),
    ("GB", "London", "England", "ENG", "2856", "51.50740", "-0.12780"),
    ("DE", "Berlin", "Berlin", "BE", "3320", "52.52000", "13.40500"),
    ("FR", "Paris", "Ile-de-France", "IDF", "3215", "48.85660", "2.35220"),
    ("IE", "Dublin", "Leinster", "L", "5466", "53.34980", "-6.26030"),
    ("JP", "Tokyo", "Tokyo", "13", "2516", "35.67620", "139.65030"),
    ("IN", "Bengaluru", "Karnataka", "KA", "24560", "12.97160", "77.59460"),
    ("BR", "Sao Paulo", "Sao Paulo", "SP", "28573", "-23.55050", "-46.63330"),
    ("CA", "Toronto", "Ontario", "ON", "577", "43.65320", "-79.38320"),
)
EMAIL_DOMAINS = ("example.com", "example.org", "corp.example.net")

# Prefix of the id a resource of each family carries; families are the first segment of an event type
# (or the second, for `tenant.` types). Unlisted families fall back to a prefix built from their name.
ID_PREFIXES = {
    "api_key": "key_", "certificate": "cert_", "certificates": "cert_", "checkpoint_permission": "cp_", "role_assignment": "ra_",
    "external_key": "ekc_", "group": "group_", "invite": "invite-", "ip_allowlist": "ipal_",
    "organization": "org-", "scim": "org-", "project": "proj_", "rate_limit": "rl-", "resource": "file-",
    "tunnel": "tun_", "workload_identity_provider": "wip_", "workload_identity_provider_mapping": "wipm_",
    "role": "role_", "service_account": "svc_acct_", "user": "user-", "login": "user-", "logout": "user-",
}
POOL_SIZE = 12
ALPHANUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def token(rng: random.Random, n: int) -> str:
    return "".join(rng.choices(ALPHANUM, k=n))


def hexstr(rng: random.Random, n: int) -> str:
    return format(rng.getrandbits(4 * n), f"0{n}x")


@dataclass(frozen=True)
class Person:
    id: str
    email: str
    name: str
    sessions: tuple[dict[str, Any], ...]
    """Pre-built `actor` objects of type `session` (one per device/location the person uses)."""


@dataclass(frozen=True)
class ApiKeyActor:
    key_id: str
    project: dict[str, str]
    actor: dict[str, Any]
    """The pre-built `actor` object of type `api_key`."""


#: Families whose ids are the organisation's own fixed entities, not created and deleted by events.
_FIXED_FAMILIES = frozenset({"project", "user", "login", "logout", "service_account", "organization", "scim"})


@dataclass
class Organisation:
    id: str
    projects: list[dict[str, str]]
    people: list[Person]
    service_accounts: list[dict[str, str]]
    keys: list[ApiKeyActor]
    pools: dict[str, list[str]] = field(default_factory=dict)
    """Resource ids per family, created lazily and reused, so `resource_ids[]` finds several events."""
    minted: dict[str, list[str]] = field(default_factory=dict)
    """Ids that `*.created` events brought into being and no delete has retired yet, per family."""

    def resource_id(self, rng: random.Random, family: str, verb: str = "") -> str:
        """The id an event of `family` acts on. A `*.created` API key or pooled resource is new (minted
        and remembered); later updates and deletes pick among what exists, and a delete retires it,
        so an archive does not show one key created seventy times."""
        if family == "api_key":
            return self._lifecycle(rng, family, verb, lambda: "key_" + token(rng, 16),
                                   lambda: rng.choice(self.keys).key_id)
        if family in _FIXED_FAMILIES:
            return self._fixed(rng, family)
        pool = self._pool(rng, family)
        return self._lifecycle(rng, family, verb, lambda: self._mint(rng, family), lambda: rng.choice(pool))

    def _lifecycle(self, rng: random.Random, family: str, verb: str, mint: Callable[[], str],
                   existing: Callable[[], str]) -> str:
        live = self.minted.setdefault(family, [])
        if verb == "created":
            new = mint()
            live.append(new)
            return new
        if live and rng.random() < 0.7:
            i = rng.randrange(len(live))
            return live.pop(i) if verb in ("deleted", "removed", "archived", "revoked") else live[i]
        return existing()

    def _mint(self, rng: random.Random, family: str) -> str:
        if family == "connector":
            # ChatGPT workspace connectors are named `<workspace_id>__<connector_id>` (spec).
            return f"ws_{token(rng, 16)}__conn_{token(rng, 16)}"
        prefix = ID_PREFIXES.get(family) or family.replace("_", "")[:8] + "_"
        return prefix + token(rng, 20)

    def _pool(self, rng: random.Random, family: str) -> list[str]:
        pool = self.pools.get(family)
        if pool is None:
            pool = self.pools[family] = [self._mint(rng, family) for _ in range(POOL_SIZE)]
        return pool

    def _fixed(self, rng: random.Random, family: str) -> str:
        if family == "project":
            return rng.choice(self.projects)["id"]
        if family in ("user", "login", "logout"):
            return rng.choice(self.people).id
        if family == "service_account":
            return rng.choice(self.service_accounts)["id"]
        return self.id  # organization, scim


def _session(rng: random.Random, user: dict[str, str]) -> dict[str, Any]:
    country, city, region, region_code, asn, lat, lon = rng.choice(LOCATIONS)
    ja4 = f"t13d{rng.randint(10, 19)}{rng.randint(10, 17)}h2_{hexstr(rng, 12)}_{hexstr(rng, 12)}"
    return {
        "user": user,
        "ip_address": f"{rng.randint(11, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        "user_agent": rng.choice(USER_AGENTS),
        "ja3": hexstr(rng, 32),
        "ja4": ja4,
        "ip_address_details": {
            "country": country, "city": city, "region": region, "region_code": region_code,
            "asn": asn, "latitude": lat, "longitude": lon,
        },
    }


def build_organisation(rng: random.Random) -> Organisation:
    """A mid-sized organisation: ~8 projects, ~30 people, a few service accounts and their keys."""
    org_id = "org-" + token(rng, 24)
    # The default project holds admin-key actions, as the spec notes, so it always exists and comes first.
    names = list(PROJECT_WORDS[1:])
    rng.shuffle(names)
    names = [PROJECT_WORDS[0], *names[: rng.randint(5, 8)]]
    projects = [{"id": "proj_" + token(rng, 24), "name": name} for name in names]

    people: list[Person] = []
    seen_emails: set[str] = set()
    headcount = rng.randint(24, 36)
    while len(people) < headcount:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}@{rng.choice(EMAIL_DOMAINS)}"
        if email in seen_emails:
            continue
        seen_emails.add(email)
        user = {"id": "user-" + token(rng, 24), "email": email}
        sessions = tuple(
            {"type": "session", "session": _session(rng, user)} for _ in range(rng.randint(1, 3))
        )
        people.append(Person(user["id"], email, f"{first.title()} {last.title()}", sessions))

    service_accounts = [
        {"id": "svc_acct_" + token(rng, 24), "project_id": rng.choice(projects)["id"]}
        for _ in range(rng.randint(4, 8))
    ]
    keys: list[ApiKeyActor] = []
    for person in people[: len(people) // 2]:
        key_id = "key_" + token(rng, 16)
        actor = {"type": "api_key", "api_key": {"id": key_id, "type": "user",
                                                "user": {"id": person.id, "email": person.email}}}
        keys.append(ApiKeyActor(key_id, projects[0], actor))
    for sa in service_accounts:
        key_id = "key_" + token(rng, 16)
        actor = {"type": "api_key", "api_key": {"id": key_id, "type": "service_account",
                                                "service_account": {"id": sa["id"]}}}
        project = next(p for p in projects if p["id"] == sa["project_id"])
        keys.append(ApiKeyActor(key_id, project, actor))
    return Organisation(org_id, projects, people, service_accounts, keys)
