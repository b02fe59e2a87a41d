"""Every audited action leaves exactly one event with the right fields.

Covered here, through the code that records them: sign_in, sign_out, session_expired, page_view
(app.py and the pages, via AppTest), grant_created / grant_changed / grant_revoked (auth.records),
the operator commands (auth.cli), the access-request form events (auth.requests), ingest_published and
ingest_refused (data.ingest), audit_export (auth.usage); audit_pruned in test_audit_retention.py.
Tested beside the code that records them: export_approved and download (test_approval.py),
vendor_delivery, vault_collect, poa_granted, poa_revoked (test_vault.py, test_export_pages.py),
vendor_registered (test_approval_pages.py), personal_view and table_export (test_pages_apptest.py),
request_state (test_requests.py), form_b_download (test_formb.py), notification_retry
(test_requests_pages.py). Not recorded by any code yet: ingest_rejects_download.
Also here: the audit pages show each person only what their role allows.
"""
from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from streamlit.testing.v1 import AppTest

from auth import audit, records, usage
from auth.principal import load_principal
from common import portal_db
from common.clock import today

MINISTRY = "admin@education.gov.il"
MANAGER = "m@x.test"


def events(action: str | None = None) -> list[dict]:
    con = portal_db.connect()
    sql, params = "SELECT * FROM audit_events", []
    if action:
        sql, params = sql + " WHERE action = ?", [action]
    rows = [dict(r) for r in con.execute(sql + " ORDER BY seq", params)]
    for r in rows:
        r["details"] = json.loads(r["details"])
    return rows


def app_as(email: str, **claims) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.user = {"is_logged_in": True, "email": email, "name": email.split("@")[0], "sub": email, **claims}
    return at


def registered_slugs(at: AppTest) -> set[str]:
    return {info.get("url_pathname") for info in at._registered_pages.values()}


def open_page(at: AppTest, slug: str) -> AppTest:
    """AppTest.switch_page only knows file pages; ours are st.Page callables registered by url_path,
    so select the registered page's hash as a click on its link would."""
    page_hash = next((h for h, info in at._registered_pages.items() if info.get("url_pathname") == slug), None)
    if page_hash is None:
        raise LookupError(f"page {slug!r} is not registered for this person")
    at._page_hash = page_hash
    return at.run()


@pytest.fixture
def manager(mifkad_home):
    records.open_access("5000", by="operator:test", basis="operator")
    records.appoint_roster_manager("5000", MANAGER, by="operator:test")
    return load_principal(MANAGER)


def test_sign_in_is_recorded_once_per_session(mifkad_home):
    at = app_as(MINISTRY).run()
    assert not at.exception
    at.run()
    [event] = events("sign_in")
    assert (event["actor"], event["authority"], event["details"], event["reason"]) == (MINISTRY, None, {}, None)
    assert audit.verify() is None


def test_sign_out_is_recorded_once(mifkad_home):
    at = app_as(MINISTRY).run()
    at.sidebar.button(key="logout").click().run()
    [event] = events("sign_out")
    assert (event["actor"], event["authority"], event["details"]) == (MINISTRY, None, {})


def test_an_idle_session_records_its_expiry_once(mifkad_home):
    at = app_as(MINISTRY, iat=time.time() - 3 * 3600).run()     # logged in 3 hours ago, idle since
    at.run()
    [event] = events("session_expired")
    assert event["actor"] == MINISTRY and event["authority"] is None
    assert event["details"]["idle_seconds"] >= 3 * 3600 - 60
    assert events("sign_in") == []                              # it never got past the idle check


def test_a_page_view_is_recorded_once_per_filter_set(mifkad_home):
    at = open_page(app_as(MINISTRY).run(), "usage")
    assert not at.exception
    at.run()
    [view] = events("page_view")
    assert view["actor"] == MINISTRY and view["authority"] is None
    assert view["details"] == {"page": "usage", "filters": {
        "date_from": (today() - timedelta(days=90)).isoformat(), "date_to": today().isoformat()}}
    at.selectbox(key="usage_action").set_value("sign_in").run()
    views = events("page_view")
    assert len(views) == 2 and views[1]["details"]["filters"]["action"] == "sign_in"


def test_grant_changes_are_recorded_before_they_take_effect(manager):
    end = today() + timedelta(days=60)
    grant_id = records.create_grant(manager, "5000", "colleague@x.test", ["view_rows", "view_aggregates"], end)
    [created] = events("grant_created")
    assert (created["actor"], created["authority"]) == (MANAGER, "5000")
    assert created["details"] == {"grantee": "colleague@x.test", "actions": ["view_aggregates", "view_rows"],
                                  "expires_on": end.isoformat()}
    later = end + timedelta(days=30)
    records.update_grant(manager, grant_id, ["view_aggregates"], later)
    [changed] = events("grant_changed")
    assert changed["details"]["actions"] == ["view_aggregates"]
    assert changed["details"]["expires_on"] == later.isoformat()
    records.revoke_grant(manager, grant_id)
    [revoked] = events("grant_revoked")
    assert (revoked["actor"], revoked["authority"], revoked["details"]["grantee"]) == (MANAGER, "5000", "colleague@x.test")
    assert [e["action"] for e in events()] == ["grant_created", "grant_changed", "grant_revoked"]


def test_a_refused_grant_leaves_no_event(manager):
    with pytest.raises(records.GrantError):
        records.create_grant(manager, "5000", MANAGER, ["view_rows"])
    assert events() == []


@pytest.mark.parametrize("argv, action, authority, details", [
    (["appoint-ministry", "--email", "new@edu.test"], "ministry_staff_appointed", None, {"email": "new@edu.test"}),
    (["open-access", "--authority", "70"], "access_opened", "70", {"basis": "operator"}),
    (["appoint-manager", "--authority", "70", "--email", "mm@x.test"], "roster_manager_appointed", "70",
     {"email": "mm@x.test"}),
])
def test_operator_commands_record_one_event_with_their_reason(mifkad_home, argv, action, authority, details):
    from auth import cli
    assert cli.main(argv + ["--reason", "ticket 17"]) == 0
    [event] = events()
    assert (event["action"], event["authority"], event["details"], event["reason"]) == \
        (action, authority, details, "ticket 17")
    assert event["actor"].startswith("operator:")


SIGNED_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def test_access_request_form_events_are_one_each(mifkad_home):
    from auth import requests
    from tests.test_requests import AUTHORITIES, CANDIDATE, complete_form
    records.ensure_configured_admins()
    candidate = load_principal(CANDIDATE)
    rid = requests.create_draft(candidate, complete_form(), AUTHORITIES)
    requests.save_form(candidate, rid, complete_form(purpose="איתור ילדים שאינם משובצים בבתי הספר של העיר"),
                       AUTHORITIES)
    stored = requests.attach_signed_pdf(candidate, rid, SIGNED_PDF, "form-a.pdf")
    assert requests.signed_pdf_bytes(candidate, rid) == SIGNED_PDF
    assert [e["action"] for e in events()] == ["request_state", "request_form_saved", "request_pdf_attached",
                                               "request_pdf_download"]
    _, saved, attached, opened = events()
    assert all((e["actor"], e["authority"]) == (CANDIDATE, "4000") for e in events())
    assert saved["details"] == {"request_id": rid, "state": "draft", "changed": ["purpose"]}
    assert attached["details"] == {"request_id": rid, "stored": stored, "name": "form-a.pdf", "bytes": len(SIGNED_PDF)}
    assert opened["details"] == {"request_id": rid, "stored": stored}


def test_ingest_records_one_event_when_it_publishes_and_one_when_it_refuses(published_snapshot, small_feed):
    from data import ingest
    [published] = events("ingest_published")
    assert published["authority"] is None and published["details"]["date"] == "2026-12-01"
    assert published["details"]["files"]["TALMIDIM"]["rows_read"] > 0
    assert ingest.main([str(small_feed), "--date", "2026-12-01"]) != 0        # already published, no --replace
    [refused] = events("ingest_refused")
    assert refused["details"] == {"date": "2026-12-01", "reason": "already_published"}
    assert [e["action"] for e in events()] == ["ingest_published", "ingest_refused"]


def test_an_audit_export_is_one_event(mifkad_home):
    audit.record("sign_in", actor="a@x.test")
    usage.export_events(MINISTRY, usage.EventFilter(action="sign_in"))
    [event] = events("audit_export")
    assert (event["actor"], event["authority"]) == (MINISTRY, None)
    assert event["details"] == {"filters": {"action": "sign_in"}, "rows": 1, "through_seq": 1}


# ------------------------------------------------------------------ who sees which audit page

def test_a_roster_manager_sees_only_their_authoritys_events(manager):
    audit.record("page_view", actor="colleague@x.test", authority="5000", details={"page": "students"})
    audit.record("page_view", actor="stranger@x.test", authority="70", details={"page": "students"})
    audit.record("sign_in", actor="stranger@x.test")
    at = open_page(app_as(MANAGER).run(), "audit_log")
    assert not at.exception
    shown = at.dataframe[-1].value
    from pages.usage import TEXT
    assert shown.columns[-1] == TEXT["seq"]["he"]          # in Hebrew the first column stands at the right
    actors = set(shown[TEXT["actor"]["he"]])
    assert "colleague@x.test" in actors and "stranger@x.test" not in actors
    assert all(a == "5000" or a.endswith(" (5000)") for a in shown[TEXT["authority"]["he"]])   # named when a snapshot names it
    options = at.selectbox(key="audit_actor").options
    assert not any("stranger" in o for o in options)
    [view] = [e for e in events("page_view") if e["actor"] == MANAGER]
    assert (view["authority"], view["details"]["page"]) == ("5000", "audit_log")


def test_the_usage_review_is_for_ministry_staff_only(manager):
    ministry = app_as(MINISTRY).run()
    assert "usage" in registered_slugs(ministry) and "audit_log" not in registered_slugs(ministry)
    at = app_as(MANAGER).run()
    assert "audit_log" in registered_slugs(at) and "usage" not in registered_slugs(at)
    with pytest.raises(LookupError):
        open_page(at, "usage")


def test_the_usage_review_masks_student_identities(mifkad_home):
    audit.record("personal_view", actor="m@x.test", authority="5000", details={"student": "1:039337423"})
    at = open_page(app_as(MINISTRY).run(), "usage")
    assert not at.exception
    text = " ".join(str(v) for df in at.dataframe for v in df.value.to_numpy().ravel())
    assert "*****7423" in text and "039337423" not in text
