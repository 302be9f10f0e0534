"""Values as the schemas type them: an address, an IP, a number, or None when the text is not one.

The service sends text; OCSF and ECS type these fields (``email_t``, ``ip``, ``float_t``/``long``), and a
value that is not of its type would make the whole document invalid. So each is checked here, and the
event's own text stays in the mapping's custom part.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import re

__all__ = ["email", "ip_address", "number"]

# The pattern of OCSF 1.8.0's email_t (its dictionary), so an address the schema would reject is left out.
_EMAIL = re.compile(r"^[a-zA-Z0-9!#$%&'*+-/=?^_`{|}~.]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$")


# Cached: a log names the same few addresses, IPs and places again and again, and a million-event
# export must not parse each one a million times.
@functools.lru_cache(maxsize=4096)
def email(value: str | None) -> str | None:
    return value if value is not None and _EMAIL.match(value) else None


@functools.lru_cache(maxsize=4096)
def ip_address(value: str | None) -> str | None:
    if value is None or len(value) > 40:
        return None
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return None
    return value


@functools.lru_cache(maxsize=4096)
def number(value: str | None, kind: type[int] | type[float]) -> int | float | None:
    """The geo strings as numbers (``"37.77490"`` -> 37.7749, ``"7922"`` -> 7922), None if not one."""
    if value is None:
        return None
    try:
        parsed = kind(value)
    except ValueError:
        return None
    return parsed if math.isfinite(parsed) else None
