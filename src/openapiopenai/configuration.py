"""``Configuration``: where the service is, how to authenticate, and how patient to be."""

from __future__ import annotations

import ipaddress
import os
from typing import Any
from urllib.parse import urlsplit

from ._constants import (
    ADMIN_KEY_ENV,
    BASE_URL_ENV,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_HOST,
    DEFAULT_MAX_RETRIES,
    DEFAULT_READ_TIMEOUT,
)

__all__ = ["Configuration"]

def is_loopback_host(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1: a key sent there never leaves the machine."""
    if host.lower() in ("localhost", "localhost.") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Configuration:
    """Settings shared by every call made through one ``ApiClient``.

    The names follow openapi-generator's ``Configuration`` (``host``, ``access_token``,
    ``verify_ssl``, ``ssl_ca_cert``, ``proxy``, ``retries``) so existing code keeps working.

    ``host`` falls back to the ``OPENAI_BASE_URL`` environment variable, then to
    ``https://api.openai.com/v1``; ``access_token`` falls back to ``OPENAI_ADMIN_KEY``. It is never shown
    by ``repr()`` and never sent over plain ``http://`` to a host other than loopback unless
    ``allow_insecure_http=True``.
    """

    def __init__(
        self,
        host: str | None = None,
        access_token: str | None = None,
        *,
        max_retries: int | None = None,
        retries: int | None = None,
        timeout: float | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        verify_ssl: bool = True,
        ssl_ca_cert: str | None = None,
        proxy: str | None = None,
        allow_insecure_http: bool = False,
        user_agent: str | None = None,
        default_headers: dict[str, str] | None = None,
    ) -> None:
        self.host = (host or os.environ.get(BASE_URL_ENV) or DEFAULT_HOST).rstrip("/")
        parts = urlsplit(self.host)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"host must be an http(s) URL such as {DEFAULT_HOST!r}, got {self.host!r}")
        self._access_token = access_token if access_token is not None else os.environ.get(ADMIN_KEY_ENV)
        if max_retries is None:
            max_retries = retries if retries is not None else DEFAULT_MAX_RETRIES
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an integer >= 0, got {max_retries!r}")
        self.max_retries = max_retries
        if timeout is not None:
            connect_timeout = read_timeout = timeout
        for name, value in (("connect_timeout", connect_timeout), ("read_timeout", read_timeout)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        self.connect_timeout = float(connect_timeout)
        self.read_timeout = float(read_timeout)
        self.verify_ssl = verify_ssl
        self.ssl_ca_cert = ssl_ca_cert
        self.proxy = proxy
        self.allow_insecure_http = allow_insecure_http
        self.user_agent = user_agent
        self.default_headers = dict(default_headers or {})
        self._transport_checked: tuple[str, bool, bool] | None = None

    # The key is a property so that assigning it later (openapi-generator style) still works; repr()
    # and str() show only a masked form (``vars(config)`` does hold it, as ``_access_token``).
    @property
    def access_token(self) -> str | None:
        return self._access_token

    @access_token.setter
    def access_token(self, value: str | None) -> None:
        self._access_token = value

    @property
    def retries(self) -> int:
        return self.max_retries

    def check_key_transport(self) -> None:
        """Refuse to send the key in clear text to another machine (raises ``ValueError``).

        Run before every request, since ``host``, the key and ``allow_insecure_http`` may all change after
        the client is built; the last settings that passed are remembered, so the URL is not parsed again
        for each page.
        """
        settings = (self.host, bool(self._access_token), self.allow_insecure_http)
        if settings == self._transport_checked:
            return
        parts = urlsplit(self.host)
        if (
            self._access_token
            and parts.scheme == "http"
            and not self.allow_insecure_http
            and not is_loopback_host(parts.hostname or "")
        ):
            raise ValueError(
                f"refusing to send the admin key over plain http:// to {parts.hostname}; use https:// "
                "or pass allow_insecure_http=True if this network is trusted"
            )
        self._transport_checked = settings

    def auth_settings(self) -> dict[str, Any]:
        """openapi-generator's shape; the value is the real key, so never log this."""
        if not self._access_token:
            return {}
        return {"AdminApiKeyAuth": {"type": "bearer", "in": "header", "key": "Authorization",
                                    "value": "Bearer " + self._access_token}}

    def __repr__(self) -> str:
        key = "None" if not self._access_token else "'***'"
        return (f"Configuration(host={self.host!r}, access_token={key}, max_retries={self.max_retries}, "
                f"connect_timeout={self.connect_timeout}, read_timeout={self.read_timeout}, "
                f"verify_ssl={self.verify_ssl})")

    def __getstate__(self) -> dict[str, Any]:
        # Pickling (multiprocessing) keeps working; the key travels only inside the pickle.
        return dict(self.__dict__)
