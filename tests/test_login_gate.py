"""The login gate in app.py runs on every rerun: signed-out visitors get only the login button,
pages cannot run without the gate, and idle sessions must sign in again."""
from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest

from auth import records
from common import config, portal_db
from common.clock import ISRAEL

MANAGER = "manager.tlv@mifkad.test"
IDLE_TEXT = "החיבור פג"


@pytest.fixture
def manager(mifkad_home):
    records.open_access("5000", by="operator:test", basis="operator")
    records.appoint_roster_manager("5000", MANAGER, by="operator:test")
    return MANAGER


def audit_actions() -> list[str]:
    con = portal_db.connect()
    try:
        return [r[0] for r in con.execute("SELECT action FROM audit_events ORDER BY seq")]
    finally:
        con.close()


def test_a_signed_out_visitor_sees_only_the_login_button(mifkad_home, app_session):
    s = app_session(MANAGER)
    s.at.user = {}
    s.run()
    assert [b.label for b in s.at.button] == ["כניסה"]
    assert "שלום" not in s.text()
    assert audit_actions() == []


def test_a_signed_out_visitor_asking_for_a_page_by_address_gets_the_login_button(mifkad_home, manager, app_session):
    s = app_session(MANAGER)
    s.at.user = {"is_logged_in": False}
    s.open("delegation")
    assert [b.label for b in s.at.button] == ["כניסה"]
    assert "האצלת הרשאות" not in s.text()


def test_the_gate_runs_on_every_rerun_not_only_the_first(mifkad_home, manager, app_session):
    s = app_session(MANAGER).open("delegation")
    assert "האצלת הרשאות" in s.text()
    s.at.user = {"is_logged_in": False}       # the login ended (e.g. signed out in another way)
    s.run()
    assert "האצלת הרשאות" not in s.text()
    assert [b.label for b in s.at.button] == ["כניסה"]


def test_a_page_run_without_the_entry_script_refuses(mifkad_home):
    from pages import context
    context.set_current(None)
    with pytest.raises(PermissionError):
        context.current()


def test_an_idle_session_must_sign_in_again_and_stays_locked_until_it_does(mifkad_home, manager, app_session):
    s = app_session(MANAGER).run()
    assert "שלום" in s.text()
    s.at.session_state["last_activity"] = time.time() - 31 * 60
    s.run()
    assert IDLE_TEXT in s.text() and "שלום" not in s.text()
    assert audit_actions().count("session_expired") == 1
    s.run()                                     # any further interaction stays locked
    assert IDLE_TEXT in s.text() and "שלום" not in s.text()
    next(b for b in s.at.button if b.label == "כניסה").click()
    s.run()                                     # the button signs the person out ...
    assert s.at.user.get("is_logged_in") is False
    s.run()                                     # ... and the next run shows the login screen
    assert [b.label for b in s.at.button] == ["כניסה"]
    assert audit_actions().count("session_expired") == 1


def test_a_session_active_within_the_limit_carries_on(mifkad_home, manager, app_session):
    s = app_session(MANAGER).run()
    s.at.session_state["last_activity"] = time.time() - 29 * 60
    s.run()
    assert "שלום" in s.text() and IDLE_TEXT not in s.text()


def test_the_idle_limit_comes_from_the_settings(mifkad_home, manager, app_session, monkeypatch):
    monkeypatch.setenv("MIFKAD_SESSION_IDLE_MINUTES", "5")
    config._cached.cache_clear()
    s = app_session(MANAGER).run()
    s.at.session_state["last_activity"] = time.time() - 6 * 60
    s.run()
    assert "החיבור פג לאחר 5 דקות" in s.text()


def _last_seen(email: str, ago: timedelta) -> None:
    with portal_db.transaction() as con:
        con.execute("INSERT INTO users (email, subject, name, first_seen, last_seen) VALUES (?, '', '', ?, ?) "
                    "ON CONFLICT(email) DO UPDATE SET last_seen = excluded.last_seen",
                    (email, "2026-01-01T00:00:00+02:00", (datetime.now(ISRAEL) - ago).isoformat()))


def test_a_new_session_with_an_old_login_of_a_person_idle_everywhere_must_sign_in_again(mifkad_home, manager,
                                                                                          app_session):
    # The login cookie lives 30 days; a browser reopened the next day starts a new session with it.
    _last_seen(MANAGER, timedelta(hours=20))
    s = app_session(MANAGER)
    s.at.user["iat"] = int(time.time() - 20 * 3600)
    s.run()
    assert IDLE_TEXT in s.text() and "שלום" not in s.text()


def test_a_new_session_right_after_signing_in_is_not_idle(mifkad_home, manager, app_session):
    _last_seen(MANAGER, timedelta(days=3))
    s = app_session(MANAGER)
    s.at.user["iat"] = int(time.time() - 5)
    s.run()
    assert "שלום" in s.text() and IDLE_TEXT not in s.text()


def test_a_new_session_of_a_person_active_in_another_tab_is_not_idle(mifkad_home, manager, app_session):
    _last_seen(MANAGER, timedelta(minutes=2))
    s = app_session(MANAGER)
    s.at.user["iat"] = int(time.time() - 5 * 3600)
    s.run()
    assert "שלום" in s.text() and IDLE_TEXT not in s.text()


# --- who reaches which page: every role against every registered page ---

def _people():
    from tests.test_permissions import PEOPLE
    return PEOPLE


def _expected_visible(who: str, spec, authority: str | None) -> bool:
    from auth.permissions import AUTHORITY_ACTIONS
    from tests.test_permissions import EXPECTED
    if spec.needs is None:
        return True
    if spec.needs in AUTHORITY_ACTIONS and authority is None:
        return False
    return who in EXPECTED[spec.needs]


def _page_ids():
    from pages.registry import PAGES
    return [p.slug for p in PAGES]


@pytest.mark.parametrize("slug", _page_ids())
@pytest.mark.parametrize("who", ["manager", "analyst", "ministry", "vendor", "nobody"])
def test_role_by_page_matrix(who, slug):
    # The people of the role x action table (tests/test_permissions.py) hold their actions in 5000.
    from pages.navigation import visible_pages
    from pages.registry import PAGES
    spec = next(p for p in PAGES if p.slug == slug)
    person = _people()[who]
    authority = "5000" if person.authority_actions else None
    shown = {p.slug for p in visible_pages(person, authority)}
    assert (slug in shown) == _expected_visible(who, spec, authority)


@pytest.mark.parametrize("who", ["manager", "analyst"])
def test_no_authority_page_shows_for_an_authority_the_person_does_not_hold(who):
    from auth.permissions import AUTHORITY_ACTIONS
    from pages.navigation import visible_pages
    shown = visible_pages(_people()[who], "70")
    assert not [p.slug for p in shown if p.needs in AUTHORITY_ACTIONS]


def test_a_signed_out_person_is_shown_no_page():
    from auth.permissions import Principal
    from pages.navigation import visible_pages
    assert visible_pages(Principal(email=""), "5000") == []


def test_the_language_chosen_opens_the_next_session_too_and_only_for_that_person(mifkad_home, manager, app_session):
    records.appoint_roster_manager("5000", "second.tlv@mifkad.test", by="operator:test")
    first = app_session(MANAGER).run()
    assert first.at.radio(key="lang_choice").value == "he"
    first.at.radio(key="lang_choice").set_value("en").run()
    assert first.at.radio(key="lang_choice").value == "en" and "Sign out" in [b.label for b in first.at.button]
    again = app_session(MANAGER).run()                   # a reload, a new tab, another device
    assert again.at.radio(key="lang_choice").value == "en"
    assert "Sign out" in [b.label for b in again.at.button]
    other = app_session("second.tlv@mifkad.test").run()
    assert other.at.radio(key="lang_choice").value == "he"
