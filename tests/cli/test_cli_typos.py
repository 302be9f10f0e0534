"""Typos and wrong units do not silently match nothing."""

from __future__ import annotations

import pytest
from _cli_helpers import assert_one_line_error

pytestmark = pytest.mark.usefixtures("needs_emulator")


def test_a_misspelt_type_is_warned_about_and_still_sent(run) -> None:
    result = run("audit-logs", "list", "--type", "login.faild")
    assert result.exit_code == 0
    assert "did you mean login.failed?" in result.stderr
    assert "no events match" in result.stderr


def test_a_type_newer_than_the_package_is_sent_with_a_warning(run, org) -> None:
    result = run("audit-logs", "list", "--type", "login.failed,brand_new.thing", "--format", "jsonl")
    assert result.exit_code == 0
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "brand_new.thing" in warnings[0] and "did you mean" not in warnings[0]
    assert result.stdout.count('"login.failed"') >= 1


def test_known_types_get_no_warning(run) -> None:
    result = run("audit-logs", "list", "--type", "login.failed", "--type", "tenant.metadata.updated")
    assert "warning" not in result.stderr


def test_milliseconds_are_refused_with_a_hint(run_offline) -> None:
    result = run_offline("audit-logs", "list", "--since", "1793489406000")
    assert_one_line_error(result.stderr, result.exit_code, 2, "--since", "milliseconds", "1793489406")
    result = run_offline("audit-logs", "list", "--since", "1793489406", "--max-retries", "0")
    assert result.exit_code == 1  # seconds are accepted (then the dead service is a runtime failure)


def test_plain_http_refusal_names_the_flag(run_offline) -> None:
    result = run_offline("audit-logs", "list", "--base-url", "http://example.com/v1")
    assert_one_line_error(result.stderr, result.exit_code, 2, "--allow-insecure-http")
    assert "allow_insecure_http" not in result.stderr


def test_a_base_url_without_v1_gets_a_hint(run, org) -> None:
    bare = org.base_url.removesuffix("/v1")
    result = run("audit-logs", "list", "--base-url", bare, "--max-retries", "0")
    assert_one_line_error(result.stderr, result.exit_code, 1, "404", "lacks /v1")
