"""Delegation: the rules of a grant, the page that makes them, the operator commands, and that a
revoked or expired grant is gone at the colleague's next rerun."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from auth import records
from auth.permissions import Action, Principal
from auth.principal import load_principal
from common import portal_db
from common.clock import today
from pages.delegation import TEXT

TLV, REGION = "5000", "10026"
MANAGER, ANALYST, OTHER_MANAGER = "manager.tlv@mifkad.test", "analyst.tlv@mifkad.test", "manager.region@mifkad.test"


@pytest.fixture
def two_authorities(mifkad_home):
    """Tel Aviv-Yafo and Mateh Yehuda open, each with its roster manager."""
    for authority, manager in ((TLV, MANAGER), (REGION, OTHER_MANAGER)):
        records.open_access(authority, by="operator:test", basis="operator")
        records.appoint_roster_manager(authority, manager, by="operator:test")


def audit_events(action: str) -> list[dict]:
    con = portal_db.connect()
    try:
        return [dict(r, details=json.loads(r["details"])) for r in
                con.execute("SELECT * FROM audit_events WHERE action = ? ORDER BY seq", (action,))]
    finally:
        con.close()


def grant_to_analyst(actions=("view_aggregates", "view_rows"), expires_on=None) -> int:
    return records.create_grant(load_principal(MANAGER), TLV, ANALYST, actions, expires_on)


# --- the rules of a grant (auth.records) ---

def test_a_grant_gives_the_colleague_exactly_the_chosen_actions_in_that_authority_only(two_authorities):
    grant_to_analyst()
    analyst = load_principal(ANALYST)
    assert analyst.authority_actions == {TLV: frozenset({Action.VIEW_AGGREGATES, Action.VIEW_ROWS})}
    assert analyst.authorities == [TLV]


def test_a_grant_lasts_one_year_unless_another_end_date_is_chosen(two_authorities):
    grant = records.get_grant(grant_to_analyst())
    assert grant.expires_on == today() + timedelta(days=365)


def test_a_grant_may_not_end_more_than_two_years_ahead(two_authorities):
    with pytest.raises(records.GrantError) as err:
        grant_to_analyst(expires_on=today() + timedelta(days=records.MAX_GRANT_DAYS + 1))
    assert err.value.code == "too_long"
    assert records.get_grant(grant_to_analyst(expires_on=today() + timedelta(days=records.MAX_GRANT_DAYS)))


def test_a_grantor_cannot_hand_on_an_action_they_do_not_hold(two_authorities):
    # Someone allowed to delegate but without personal details (not a preset role, but the rule holds).
    partial = Principal(email="partial@x.test", authority_actions={
        TLV: frozenset({Action.DELEGATE, Action.VIEW_AGGREGATES, Action.VIEW_ROWS})})
    with pytest.raises(records.GrantError) as err:
        records.create_grant(partial, TLV, ANALYST, ["view_rows", "view_personal"])
    assert err.value.code == "beyond_grantor"
    assert "view_personal" in str(err.value)


@pytest.mark.parametrize("grantee, actions, code", [
    (ANALYST, ["delegate"], "not_delegable"),
    (ANALYST, ["grant_poa"], "not_delegable"),
    (ANALYST, [], "no_actions"),
    (ANALYST, ["view_aggregates", "view_personal"], "personal_needs_rows"),
    ("not-an-address", ["view_aggregates"], "bad_email"),
    (MANAGER, ["view_aggregates"], "self"),
])
def test_a_grant_the_rules_forbid_is_refused_with_the_rule_named(two_authorities, grantee, actions, code):
    with pytest.raises(records.GrantError) as err:
        records.create_grant(load_principal(MANAGER), TLV, grantee, actions)
    assert err.value.code == code
    assert records.grants_of_authority(TLV) == []


def test_a_manager_cannot_grant_or_revoke_in_another_authority(two_authorities):
    grant_id = grant_to_analyst()
    other = load_principal(OTHER_MANAGER)
    with pytest.raises(records.GrantError):
        records.create_grant(other, TLV, "someone@x.test", ["view_aggregates"])
    with pytest.raises(records.GrantError):
        records.revoke_grant(other, grant_id)
    with pytest.raises(records.GrantError):
        records.update_grant(other, grant_id, ["view_aggregates"], today())
    assert records.get_grant(grant_id).active


def test_a_second_grant_to_the_same_colleague_is_refused(two_authorities):
    grant_to_analyst()
    with pytest.raises(records.GrantError) as err:
        grant_to_analyst(actions=["view_aggregates"])
    assert err.value.code == "duplicate"


def test_grants_expire_on_their_own_after_their_last_day(two_authorities):
    grant_id = grant_to_analyst(expires_on=today())
    assert load_principal(ANALYST).authorities == [TLV]          # the end date is the last valid day
    with portal_db.transaction() as con:
        con.execute("UPDATE grants SET expires_on = ? WHERE id = ?", ((today() - timedelta(days=1)).isoformat(), grant_id))
    assert load_principal(ANALYST).authority_actions == {}


def test_closing_an_authoritys_access_ends_its_managers_and_grants(two_authorities):
    grant_to_analyst()
    records.close_access(TLV, by="operator:test")
    assert load_principal(ANALYST).authority_actions == {}
    assert load_principal(MANAGER).authority_actions == {}
    assert load_principal(OTHER_MANAGER).authorities == [REGION]


def test_every_grant_change_is_audited_with_grantee_actions_and_end_date(two_authorities):
    manager = load_principal(MANAGER)
    grant_id = grant_to_analyst()
    end = today() + timedelta(days=30)
    records.update_grant(manager, grant_id, ["view_aggregates"], end)
    records.revoke_grant(manager, grant_id)
    created, = audit_events("grant_created")
    changed, = audit_events("grant_changed")
    revoked, = audit_events("grant_revoked")
    assert created["actor"] == MANAGER and created["authority"] == TLV
    assert created["details"] == {"grantee": ANALYST, "actions": ["view_aggregates", "view_rows"],
                                  "expires_on": (today() + timedelta(days=365)).isoformat()}
    assert changed["details"]["actions"] == ["view_aggregates"]
    assert changed["details"]["expires_on"] == end.isoformat()
    assert changed["details"]["before"]["actions"] == ["view_aggregates", "view_rows"]
    assert revoked["details"] == {"grantee": ANALYST, "actions": ["view_aggregates"],
                                  "expires_on": end.isoformat(), "grant_id": grant_id}


def test_a_refused_grant_leaves_no_audit_event(two_authorities):
    with pytest.raises(records.GrantError):
        records.create_grant(load_principal(MANAGER), TLV, MANAGER, ["view_aggregates"])
    assert audit_events("grant_created") == []


# --- the page (AppTest through app.py) ---

def test_manager_grants_a_colleague_on_the_page(two_authorities, app_session):
    s = app_session(MANAGER).open("delegation")
    assert "האצלת הרשאות" in s.text()
    s.at.text_input(key="new_grant_email").input("New.Colleague@Mifkad.test")
    s.at.multiselect(key="new_grant_actions").set_value([Action.VIEW_AGGREGATES, Action.VIEW_ROWS])
    s.at.button[0].click()    # the form's submit button is the page's first button
    s.run()
    grant, = records.grants_of_authority(TLV)
    assert grant.grantee == "new.colleague@mifkad.test"
    assert grant.actions == {Action.VIEW_AGGREGATES, Action.VIEW_ROWS}
    assert grant.expires_on == today() + timedelta(days=365)
    assert "new.colleague@mifkad.test" in s.text()                 # the success message
    grantee = TEXT["col_grantee"]["he"]
    assert s.at.dataframe[0].value.columns[-1] == grantee    # in Hebrew the first column stands at the right
    assert s.at.dataframe[0].value[grantee].iloc[0] == "new.colleague@mifkad.test"
    assert s.at.date_input(key="new_grant_ends").value == today() + timedelta(days=365)


def test_the_page_shows_a_refused_grant_in_hebrew(two_authorities, app_session):
    s = app_session(MANAGER).open("delegation")
    s.at.text_input(key="new_grant_email").input(MANAGER)
    s.at.button[0].click()
    s.run()
    assert [e.value for e in s.at.error] == ["אי אפשר להאציל הרשאה לעצמך."]
    assert records.grants_of_authority(TLV) == []


def test_manager_changes_and_revokes_a_grant_on_the_page(two_authorities, app_session):
    grant_id = grant_to_analyst()
    s = app_session(MANAGER).open("delegation")
    s.at.multiselect(key=f"edit_actions_{grant_id}").set_value([Action.VIEW_AGGREGATES])
    save = next(b for b in s.at.button if b.label == "שמירת השינויים")
    save.click()
    s.run()
    assert records.get_grant(grant_id).actions == {Action.VIEW_AGGREGATES}
    revoke = next(b for b in s.at.button if b.label == "ביטול ההרשאה")
    revoke.click()
    s.run()
    assert records.get_grant(grant_id).revoked_at is not None
    assert "ההרשאה של analyst.tlv@mifkad.test בוטלה." in s.text()
    assert [e["action"] for e in audit_events("grant_changed") + audit_events("grant_revoked")] == \
        ["grant_changed", "grant_revoked"]


def test_the_page_lists_only_the_open_authoritys_grants(two_authorities, app_session):
    grant_to_analyst()
    records.create_grant(load_principal(OTHER_MANAGER), REGION, "region.analyst@x.test", ["view_aggregates"])
    s = app_session(OTHER_MANAGER).open("delegation")
    shown = s.at.dataframe[0].value[TEXT["col_grantee"]["he"]].tolist()
    assert shown == ["region.analyst@x.test"]


def test_revoked_grant_ends_access_at_the_colleagues_next_rerun_without_signing_out(two_authorities, app_session):
    grant_id = grant_to_analyst()
    s = app_session(ANALYST).run()
    assert "רשות פתוחה" in s.text()
    records.revoke_grant(load_principal(MANAGER), grant_id)
    s.run()                        # the same session: no new sign-in, only a rerun
    assert "רשות פתוחה" not in s.text()
    assert "אין לך עדיין הרשאה" in s.text()
    assert s.at.session_state["signed_in_recorded"]     # it really was the same signed-in session


def test_an_analyst_opening_the_delegation_address_gets_no_page(two_authorities, app_session):
    grant_to_analyst()
    s = app_session(ANALYST).open("delegation")
    assert "האצלת הרשאות" not in s.text()
    assert "שלום" in s.text()                  # the home page ran instead
    assert records.grants_of_authority(TLV)[0].active


# --- the operator commands ---

def test_operator_commands_open_access_and_appoint_a_manager(mifkad_home, capsys):
    from auth import cli
    assert cli.main(["open-access", "--authority", TLV]) == 0
    assert cli.main(["appoint-manager", "--authority", TLV, "--email", "Boss@City.test"]) == 0
    assert cli.main(["appoint-ministry", "--email", "staff@education.gov.il"]) == 0
    boss = load_principal("boss@city.test")
    assert boss.managed == {TLV} and Action.DELEGATE in boss.authority_actions[TLV]
    assert load_principal("staff@education.gov.il").ministry
    assert cli.main(["list"]) == 0
    listing = capsys.readouterr().out
    assert "boss@city.test" in listing and "admin@education.gov.il" in listing
    assert [e["action"] for e in audit_events("access_opened") + audit_events("roster_manager_appointed")] == \
        ["access_opened", "roster_manager_appointed"]
    assert cli.main(["close-access", "--authority", TLV]) == 0
    assert load_principal("boss@city.test").authority_actions == {}


@pytest.mark.parametrize("argv, field", [
    (["appoint-manager", "--authority", "tel-aviv", "--email", "a@b.test"], "--authority"),
    (["appoint-manager", "--authority", TLV, "--email", "not an address"], "--email"),
    (["close-access", "--authority", TLV], "--authority"),     # not open
])
def test_operator_command_with_bad_input_says_which_field(mifkad_home, capsys, argv, field):
    from auth import cli
    assert cli.main(argv) == 2
    assert capsys.readouterr().err.startswith(f"error: {field}:")
    assert audit_events("roster_manager_appointed") == [] and audit_events("access_closed") == []


def test_configured_ministry_admins_become_ministry_staff(mifkad_home, monkeypatch):
    from common import config
    monkeypatch.setenv("MIFKAD_MINISTRY_ADMINS", "chief@education.gov.il, Deputy@education.gov.il")
    config._cached.cache_clear()
    records.ensure_configured_admins()
    assert load_principal("deputy@education.gov.il").ministry
    assert not load_principal("admin@education.gov.il").ministry


def test_ministry_staff_appointed_or_granted_in_an_authority_still_see_no_childrens_details(two_authorities):
    from auth.permissions import allowed
    records.appoint_ministry_staff("staff@education.gov.il", by="operator:test")
    records.appoint_roster_manager(TLV, "staff@education.gov.il", by="operator:test")
    records.create_grant(load_principal(OTHER_MANAGER), REGION, "staff@education.gov.il",
                         ["view_aggregates", "view_rows", "view_personal"])
    staff = load_principal("staff@education.gov.il")
    for authority in (TLV, REGION):
        assert allowed(staff, Action.VIEW_AGGREGATES, authority)
        assert not any(allowed(staff, a, authority) for a in (Action.VIEW_ROWS, Action.VIEW_PERSONAL,
                                                               Action.DOWNLOAD_EXPORT))
