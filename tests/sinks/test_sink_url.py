"""The sink contract's URL parsing and secret handling, and the registry's choice of class."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from openapiopenai.sinks import Secret, SinkConfigError, open_sink, parse_sink_url
from openapiopenai.sinks._registry import KNOWN_SCHEMES


def test_password_in_url_is_kept_out_of_every_text_form() -> None:
    url = parse_sink_url("postgresql://ship:s3cr%2Fet@127.0.0.1:5432/audit?table=events&sslmode=disable")
    assert url.password is not None and url.password.reveal() == "s3cr/et"
    assert url.username == "ship" and url.host == "127.0.0.1" and url.port == 5432 and url.path == "/audit"
    assert url.query == {"table": "events", "sslmode": "disable"}
    for text in (url.redacted(), str(url), repr(url), str(url.password), repr(url.secrets)):
        assert "s3cr" not in text
    assert url.redacted() == "postgresql://ship@127.0.0.1:5432/audit?sslmode=disable&table=events"


def test_secret_from_the_environment_or_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SINK_PW", "from-env")
    url = parse_sink_url("postgresql://u@h/db?password_env=SINK_PW")
    assert url.password == Secret("from-env")
    assert url.redacted() == "postgresql://u@h/db?password_env=SINK_PW"
    (tmp_path / "token").write_text("tok-123\n")
    url = parse_sink_url(f"splunk-hec+https://h:8088/?token_file={tmp_path / 'token'}")
    assert url.secret("token") == Secret("tok-123") and url.password is None
    url = parse_sink_url("https://h/hook?hmac_secret=abc&x=1")
    assert url.secret("hmac_secret") == Secret("abc") and url.query == {"x": "1"}
    assert "abc" not in url.redacted()


@pytest.mark.parametrize(("url", "message"), [
    ("postgresql://u@h/db?password_env=NOT_SET_ANYWHERE_42", "NOT_SET_ANYWHERE_42 is not set"),
    ("postgresql://u:pw@h/db?password=other", "one way only"),
    ("postgresql://h:99999/db", "malformed"),
    ("no-scheme-at-all", "needs a scheme"),
    ("postgresql://h/db?table=a&table=b", "given twice"),
    ("postgresql://h/db?password_file=/nonexistent/pw", "cannot read"),
])
def test_malformed_urls_are_one_line_config_errors(url: str, message: str) -> None:
    with pytest.raises(SinkConfigError, match=message) as info:
        parse_sink_url(url)
    assert "\n" not in str(info.value) and "other" not in str(info.value) and ":pw" not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_secret_never_pickles() -> None:
    with pytest.raises(TypeError):
        pickle.dumps(Secret("x"))


def test_unknown_scheme_names_the_known_ones() -> None:
    with pytest.raises(SinkConfigError, match=r"unknown sink scheme 'ftp://'; known: postgresql://") as info:
        open_sink("ftp://h/x")
    assert "file://" in str(info.value)


def test_every_scheme_of_the_contract_is_registered() -> None:
    assert set(KNOWN_SCHEMES) == {
        "postgresql", "postgres", "elasticsearch+https", "elasticsearch+http", "opensearch+https",
        "opensearch+http", "splunk-hec+https", "splunk-hec+http", "syslog+tcp", "syslog+tls", "file", "s3",
        "https", "http"}


def test_sink_libraries_load_only_when_their_scheme_is_used() -> None:
    import subprocess
    import sys

    code = ("import sys, openapiopenai.sinks as s; s.open_sink('file:///tmp/x'); "
            "print(sorted(m for m in ('psycopg', 'boto3', 'pyarrow', 'openapiopenai.sinks.postgresql',"
            " 'openapiopenai.sinks.s3') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
