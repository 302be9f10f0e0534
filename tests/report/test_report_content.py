"""What each section finds, on an archive whose events are known; the period and bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _report_helpers import write_archive

from openapiopenai.archive import Archive
from openapiopenai.report import Report, Table, build_report, write_report

DAY = 86_400
SINCE, UNTIL = 1_780_000_000, 1_780_000_000 + 7 * DAY


def _session(email: str, country: str = "US", agent: str = "Firefox/125.0", ip: str = "198.51.100.1") -> dict[str, Any]:
    return {"type": "session", "session": {"user": {"id": "user-" + email.split("@")[0], "email": email},
                                           "ip_address": ip, "user_agent": agent,
                                           "ip_address_details": {"country": country, "city": "X"}}}


def _event(n: int, event_type: str, at: int, payload: dict[str, Any], actor: dict[str, Any] | None = None,
           ) -> dict[str, Any]:
    return {"id": f"audit_log-c{n:03d}", "type": event_type, "effective_at": at,
            "actor": actor or _session("admin@corp.example"), event_type: payload}


EVENTS: list[tuple[dict[str, Any], bool]] = [
    (_event(1, "role.assignment.created", SINCE + 10, {"id": "ra_1", "principal_type": "user"}), False),
    (_event(2, "user.added", SINCE + 20, {"id": "user-new-owner", "data": {"role": "owner"}}), False),
    (_event(3, "user.added", SINCE + 30, {"id": "user-new-member", "data": {"role": "member"}}), False),
    (_event(4, "api_key.created", SINCE + 40, {"id": "key_read", "data": {"scopes": ["api.model.read"]}}), False),
    (_event(5, "api_key.created", SINCE + 50, {"id": "key_all", "data": {"scopes": ["all"]}}), False),
    (_event(6, "tenant.admin_api_key.created", SINCE + 60, {"id": "adminkey_1", "name": "ops"}), True),
    (_event(7, "scim.disabled", SINCE + 70, {"id": "org-1"}), False),
    (_event(8, "ip_allowlist.config.deactivated", SINCE + 80, {"id": "cfg"}), False),
    (_event(9, "certificate.created", SINCE + 90, {"id": "cert_1", "name": "c"}), False),
    (_event(10, "workload_identity_provider.created", SINCE + 100, {"id": "wip_1"}), False),
    (_event(11, "invite.sent", SINCE + 110, {"id": "inv_1", "data": {"email": "a@partner.example"}}), False),
    (_event(12, "invite.sent", SINCE + 120, {"id": "inv_2", "data": {"email": "b@partner.example"}}), False),
    (_event(13, "invite.sent", SINCE + 130, {"id": "inv_3", "data": {"email": "c@other.example"}}), False),
    (_event(14, "user.deleted", SINCE + 140, {"id": "user-gone"}), False),
    (_event(15, "api_key.deleted", SINCE + 150, {"id": "key_read"}), False),
    (_event(16, "user.updated", SINCE + 160, {"id": "user-promoted", "changes_requested": {"role": "Owner"}}), False),
    (_event(17, "user.updated", SINCE + 170, {"id": "user-renamed", "changes_requested": {"name": "x"}}), False),
    (_event(18, "api_key.updated", SINCE + 180, {"id": "key_read", "changes_requested": {"scopes": ["api.files.write"]}}),
     False),
    # Sign-ins: ana is known from the US (before the period); France and a new browser are new.
    (_event(20, "login.succeeded", SINCE - DAY, {}, _session("ana@corp.example", "US")), False),
    (_event(21, "login.succeeded", SINCE + DAY, {}, _session("ana@corp.example", "US")), False),
    (_event(22, "login.succeeded", SINCE + 2 * DAY, {}, _session("ana@corp.example", "FR", "Chrome/124.0")), False),
    *[(_event(30 + i, "login.failed", SINCE + 3 * DAY + i, {"error_code": "invalid_credentials"},
              _session("bob@corp.example", "BR", ip="203.0.113.7")), False) for i in range(3)],
    # Outside the period: not in any section.
    (_event(90, "scim.disabled", UNTIL + 1, {"id": "org-1"}), False),
    (_event(91, "role.assignment.created", SINCE - 1, {"id": "ra_0"}), False),
]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    db = tmp_path_factory.mktemp("content") / "a.sqlite"
    write_archive(db, EVENTS)
    with Archive(db, create=False, readonly=True) as archive:
        return build_report(archive, since=SINCE, until=UNTIL)


def _table(report: Report, section: str, title: str) -> Table:
    found = next(s for s in report.sections if s.key == section)
    return next(t for t in found.tables if t.title.startswith(title))


def _column(table: Table, name: str) -> list[str]:
    i = table.columns.index(name)
    return [row[i] for row in table.rows]


def test_sections_most_important_first_and_every_row_names_an_event(report: Report) -> None:
    assert [s.key for s in report.sections] == ["detections", "privileged", "keys", "people", "sign-ins", "activity"]
    assert report.events == sum(SINCE <= e["effective_at"] < UNTIL for e, _ in EVENTS) == len(EVENTS) - 3
    for section in report.sections:
        for table in section.tables:
            assert all(row[-1].startswith("audit_log-") for row in table.rows), (section.key, table.title)


def test_privileged_changes(report: Report) -> None:
    every = _table(report, "privileged", "Every change")
    assert sorted(every.rows[i][-1] for i in range(len(every.rows))) == [
        f"audit_log-c{n:03d}" for n in (1, 2, 5, 6, 7, 8, 9, 10, 16, 18)
    ]  # not the member, the read-only key or the rename; nothing outside the period
    kinds = _column(_table(report, "privileged", "By kind"), "change")
    assert kinds == ["role grant", "admin role given", "admin API key", "API key with write/all scope", "SCIM",
                     "IP allow-list", "certificate", "identity provider"]


def test_keys_and_people(report: Report) -> None:
    owners = _table(report, "keys", "By owner")
    assert [(r[0], r[1], r[2], r[4]) for r in owners.rows] == [("admin@corp.example", "3", "1", "audit_log-c015")]
    assert _column(_table(report, "keys", "Keys created"), "key") == ["key_read", "adminkey_1", "key_all", "key_read"]
    domains = _table(report, "people", "Invitations by domain")
    assert [(r[0], r[1]) for r in domains.rows] == [("partner.example", "2"), ("other.example", "1")]
    assert _column(_table(report, "people", "New users"), "user") == ["user-new-member", "user-new-owner"]
    assert _column(_table(report, "people", "Removals"), "event") == ["audit_log-c014"]


def test_sign_ins(report: Report) -> None:
    failed = _table(report, "sign-ins", "Failed sign-ins")
    assert [(r[0], r[1], r[2], r[3]) for r in failed.rows] == [("bob@corp.example", "203.0.113.7", "BR", "3")]
    new_countries = _table(report, "sign-ins", "New countries")
    assert [(r[0], r[1], r[3]) for r in new_countries.rows] == [
        ("bob@corp.example", "BR", "audit_log-c030"), ("ana@corp.example", "FR", "audit_log-c022"),
    ]  # newest first; ana's US is not new, she signed in from there before the period
    new_agents = _table(report, "sign-ins", "New user agents")
    assert ("ana@corp.example", "Chrome/124.0") in [(r[0], r[1]) for r in new_agents.rows]
    assert ("ana@corp.example", "Firefox/125.0") not in [(r[0], r[1]) for r in new_agents.rows]
    charts = {c.key: c for s in report.sections for c in s.charts}
    assert sum(charts["failed-logins"].series[0][1]) == 3
    assert len(charts["failed-logins"].labels) == 8  # 7 days from a time that is not midnight: 8 dates


def _hint_rows(table: Table) -> int:
    """Rows the cut table's ``sqlite3 ... 'SELECT ...'`` hint returns, run as a reader would run it."""
    import shlex
    import sqlite3

    program, *options, db, sql = shlex.split(table.hint)
    assert program == "sqlite3" and options == ["-header", "-column"], table.hint
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return len(conn.execute(sql).fetchall())
    finally:
        conn.close()


def test_long_tables_are_cut_with_their_count_and_a_query_for_the_rest(tmp_path: Path) -> None:
    from openapiopenai.report import render
    from openapiopenai.report._period import MAX_ROWS

    n = MAX_ROWS + 5
    many = [(_event(100 + i, "login.failed", SINCE + i, {}, _session(f"u{i}@x.example", f"C{i}", f"Agent/{i}",
                                                                    f"10.0.{i // 250}.{i % 250}")), False)
            for i in range(n)]
    many += [(_event(400 + i, "api_key.created", SINCE + i, {"id": f"key_{i}", "data": {"scopes": ["all"]}},
                     _session(f"owner{i}@x.example")), False) for i in range(n)]
    many += [(_event(700 + i, "invite.sent", SINCE + i, {"id": f"inv_{i}", "data": {"email": f"a@d{i}.example"}}),
              False) for i in range(n)]
    db = tmp_path / "many.sqlite"
    write_archive(db, many)
    with Archive(db, create=False, readonly=True) as archive:
        report = build_report(archive, since=SINCE, until=UNTIL)
    for section, title in (("sign-ins", "Failed sign-ins"), ("sign-ins", "New countries"),
                           ("sign-ins", "New user agents"), ("keys", "By owner"), ("people", "Invitations by domain")):
        table = _table(report, section, title)
        assert len(table.rows) == MAX_ROWS and table.total == n, (title, len(table.rows), table.total)
        assert _hint_rows(table) == n, title  # the hint's query gives the whole table
    for section, title in (("privileged", "Every change"), ("keys", "Keys created")):
        table = _table(report, section, title)
        assert len(table.rows) == MAX_ROWS and table.total == n and "--type api_key.created" in table.hint
    page = render(report)
    assert page.count(f"{n - MAX_ROWS:,} more not shown.") == 7
    assert f"Showing {MAX_ROWS} of {n}: 5 more not shown." in render(report, "md")


def test_bad_period_and_unwritable_out_are_value_errors(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite"
    write_archive(db, EVENTS[:1])
    with Archive(db, create=False, readonly=True) as archive:
        with pytest.raises(ValueError, match="period"):
            build_report(archive, since=UNTIL, until=SINCE)
        report = build_report(archive, since=SINCE, until=UNTIL)
    with pytest.raises(ValueError, match="does not exist"):
        write_report(report, tmp_path / "missing" / "r.html")
    with pytest.raises(ValueError, match="format"):
        write_report(report, tmp_path / "r.pdf", format="pdf")
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("a.sqlite")] == []  # no partial file


def test_detections_of_the_shipped_rules_fill_the_first_section(tmp_path: Path) -> None:
    from openapiopenai.report import detection_matches

    db = tmp_path / "a.sqlite"
    write_archive(db, EVENTS)
    with Archive(db, create=False, readonly=True) as archive:
        matches = detection_matches(archive, SINCE, UNTIL)
        assert matches is not None  # dev installs the 'detect' extra
        report = build_report(archive, since=SINCE, until=UNTIL, detections=matches)
    alerts = _table(report, "detections", "Alerts")
    by_event = {row[-1]: row for row in alerts.rows}
    assert "audit_log-c007" in by_event and by_event["audit_log-c007"][0] == "high"  # scim.disabled
    assert "audit_log-c090" not in by_event  # the same change after the period
    assert _column(_table(report, "detections", "By rule"), "severity")[0] in ("critical", "high")
