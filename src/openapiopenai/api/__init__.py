"""The API classes, one per tag of the spec (openapi-generator's layout)."""

from .audit_logs_api import AsyncAuditLogsApi, AuditLogsApi

__all__ = ["AsyncAuditLogsApi", "AuditLogsApi"]
