"""The service's log: one line per record on stderr, as text or as ECS JSON, never with a key in it.

JSON lines use the Elastic Common Schema's names (``@timestamp``, ``log.level``, ``message``,
``organization.name``, ``event.duration`` in nanoseconds, ``error.type``...), so Filebeat or the
Elastic Agent read them without a pipeline. Written here rather than through ``ecs-logging``: the
fields are a dozen, and the service's extra fields (org, sink, rule) map to ECS names only we know.
Every line goes through the CLI's redaction (any key this process read, anything shaped like one).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

__all__ = ["ECS_VERSION", "configure_logging"]

ECS_VERSION = "9.4.0"

#: Our `extra=` names -> their ECS field.
_FIELDS = {
    "org": "organization.name",
    "partition": "openapiopenai.partition",
    "sink": "openapiopenai.sink",
    "rule": "rule.id",
    "level": "event.severity_name",
    "kind": "error.type",
}


def _redacted(text: str) -> str:
    from openapiopenai.cli._messages import redact
    from openapiopenai.cli._output import escape_control

    return escape_control(redact(text))


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        org = getattr(record, "org", None)
        prefix = f"{when} {record.levelname.lower():<7} " + (f"[{org}] " if org else "")
        return _redacted(prefix + record.getMessage())


class EcsFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        doc: dict[str, Any] = {"@timestamp": when, "log.level": record.levelname.lower(),
                               "message": _redacted(record.getMessage())}
        nested: dict[str, Any] = {
            "ecs": {"version": ECS_VERSION},
            "log": {"logger": record.name},
            "process": {"pid": os.getpid(), "thread": {"name": record.threadName}},
            "service": {"name": "openapiopenai", "type": "audit-log-collector"},
        }
        for attr, ecs_name in _FIELDS.items():
            value = getattr(record, attr, None)
            if value is not None:
                _put(nested, ecs_name, _redacted(str(value)))
        duration = getattr(record, "duration", None)
        if duration is not None:
            _put(nested, "event.duration", int(float(duration) * 1e9))
        if record.levelno >= logging.ERROR and "error" in nested:
            nested["error"]["message"] = doc["message"]
        doc.update(nested)
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def _put(doc: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for name in parents:
        doc = doc.setdefault(name, {})
    doc[last] = value


#: Loggers of libraries the service sends through, and the least level of theirs worth a line. apprise
#: logs each request's URL (tokens in it) at debug; its warnings say a target failed.
_LIBRARY_LOGGERS = {"apprise": logging.WARNING}


def configure_logging(fmt: str = "text", level: int = logging.INFO) -> None:
    """The ``openapiopenai`` logger, and the libraries' it sends through, to stderr in ``fmt`` (text or json).

    A library's records go through the same redaction and format as ours: left to Python's last-resort
    handler they would be printed raw, a notification token in them included.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(EcsFormatter() if fmt == "json" else TextFormatter())
    loggers = {"openapiopenai": level, **{name: max(level, least) for name, least in _LIBRARY_LOGGERS.items()}}
    for name, its_level in loggers.items():
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(its_level)
        logger.propagate = False
