"""Sinks: delivering the archive to where it is used, with a ledger that moves only on acknowledgement.

    from openapiopenai.sinks import open_sink, ship

`open_sink(url)` picks the sink by the URL's scheme (its module and library are imported only then);
`ship()` (in `_ship`) reads the archive in insertion order after the sink's ledger position, sends batches
and records each one as delivered only once the sink acknowledged it.
"""

from openapiopenai.sinks._base import (
    BatchResult,
    Item,
    Rejected,
    Secret,
    Sink,
    SinkConfigError,
    SinkError,
    SinkFailed,
    SinkUnavailable,
    SinkURL,
    parse_sink_url,
)
from openapiopenai.sinks._registry import KNOWN_SCHEMES, open_sink
from openapiopenai.sinks._ship import ShipError, ShipResult, ship

__all__ = [
    "KNOWN_SCHEMES",
    "BatchResult",
    "Item",
    "Rejected",
    "Secret",
    "ShipError",
    "ShipResult",
    "Sink",
    "SinkConfigError",
    "SinkError",
    "SinkFailed",
    "SinkURL",
    "SinkUnavailable",
    "open_sink",
    "parse_sink_url",
    "ship",
]
