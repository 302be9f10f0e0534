"""Declarative fixes to the upstream spec, applied by ``scripts/codegen.py`` before it generates.

Each entry says why. Keep them small: the spec file itself stays exactly as extracted upstream.
"""

from __future__ import annotations

from typing import Any

_STR = {"type": "string"}

#: Extra properties merged into component schemas: ``{schema name: {property: schema}}``.
EXTRA_PROPERTIES: dict[str, dict[str, Any]] = {
    # The live service sends these on every session actor (the spec's own response example shows them),
    # but `AuditLogActorSession` declares only `user` and `ip_address`. They are exactly what a security
    # analyst needs, so they get typed attributes instead of living only in `model_extra`.
    "AuditLogActorSession": {
        "user_agent": {**_STR, "description": "The User-Agent header of the session's requests."},
        "ja3": {**_STR, "description": "The JA3 TLS fingerprint of the session's client."},
        "ja4": {**_STR, "description": "The JA4 TLS fingerprint of the session's client."},
        "ip_address_details": {
            "type": "object",
            "description": "Where the IP address is, as the service geolocates it.",
            "properties": {
                "country": {**_STR, "description": "ISO 3166-1 alpha-2 country code."},
                "city": _STR,
                "region": _STR,
                "region_code": _STR,
                "asn": {**_STR, "description": "Autonomous system number, as a string."},
                "latitude": {**_STR, "description": "Latitude, as a decimal string."},
                "longitude": {**_STR, "description": "Longitude, as a decimal string."},
            },
        },
    },
}

#: Class names for inline schemas whose derived name would be clumsy.
CLASS_NAMES: dict[str, str] = {
    "AuditLogActorSession.ip_address_details": "AuditLogActorSessionIpAddressDetails",
    "AuditLog.project": "AuditLogProject",
}
