"""Which class serves a sink URL: the scheme names a module, imported only when that scheme is used.

A sink's third-party library (psycopg, boto3, elasticsearch...) therefore costs nothing to the commands and
sinks that do not use it. A module may hold several sink classes; the one whose `Sink.scheme` lists the URL's
scheme serves it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from openapiopenai.sinks._base import Sink, SinkConfigError, parse_sink_url

__all__ = ["KNOWN_SCHEMES", "open_sink", "sink_class"]

#: URL scheme -> the module (under `openapiopenai.sinks`) that serves it.
KNOWN_SCHEMES: Mapping[str, str] = {
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "file": "files",
    "s3": "s3",
    "elasticsearch+https": "elasticsearch",
    "elasticsearch+http": "elasticsearch",
    "opensearch+https": "elasticsearch",
    "opensearch+http": "elasticsearch",
    "splunk-hec+https": "splunk_hec",
    "splunk-hec+http": "splunk_hec",
    "syslog+tcp": "syslog",
    "syslog+tls": "syslog",
    "https": "webhook",
    "http": "webhook",
}


def sink_class(scheme: str) -> type[Sink]:
    """The class serving `scheme`; `SinkConfigError` for a scheme no sink serves."""
    module_name = KNOWN_SCHEMES.get(scheme.lower())
    if module_name is None:
        known = ", ".join(f"{s}://" for s in KNOWN_SCHEMES)
        raise SinkConfigError(f"unknown sink scheme '{scheme}://'; known: {known}")
    qualified = f"openapiopenai.sinks.{module_name}"
    try:
        module = importlib.import_module(qualified)
    except ModuleNotFoundError as exc:
        if exc.name != qualified:
            raise
        module = None
    for value in vars(module).values() if module is not None else ():
        if (isinstance(value, type) and issubclass(value, Sink) and value is not Sink
                and scheme.lower() in getattr(value, "scheme", ())):
            return value
    raise SinkConfigError(f"sink scheme '{scheme}://' is not available in this version")


def open_sink(url: str, *, options: Mapping[str, str] | None = None) -> Sink:
    """The sink for `url`, constructed but not yet connected (call `Sink.open`, or use it as a context
    manager). Raises `SinkConfigError` for a malformed URL, an unknown scheme or a missing extra."""
    parsed = parse_sink_url(url)
    return sink_class(parsed.scheme)(parsed, options=dict(options or {}))
