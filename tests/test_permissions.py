"""The permission table and the one function that decides."""
from __future__ import annotations

import pytest

from auth.permissions import AUTHORITY_ACTIONS, ROLE_ACTIONS, Action, Principal, Role, allowed

MANAGER = Principal(email="m@x.test", managed=frozenset({"5000"}),
                    authority_actions={"5000": ROLE_ACTIONS[Role.ROSTER_MANAGER] & AUTHORITY_ACTIONS})
ANALYST = Principal(email="a@x.test", authority_actions={"5000": frozenset({Action.VIEW_AGGREGATES, Action.VIEW_ROWS})})
MINISTRY = Principal(email="admin@x.test", ministry=True)
VENDOR = Principal(email="v@x.test", vendor_ids=frozenset({1}))
NOBODY = Principal(email="n@x.test")

EXPECTED = {
    # action: who may (in authority 5000 where it applies)
    Action.VIEW_AGGREGATES: {"manager", "analyst"},
    Action.VIEW_ROWS: {"manager", "analyst"},
    Action.VIEW_PERSONAL: {"manager"},
    Action.DOWNLOAD_EXPORT: {"manager"},
    Action.DELEGATE: {"manager"},
    Action.GRANT_POA: {"manager"},
    Action.VIEW_AUDIT: {"manager"},
    Action.FILE_REQUEST: {"manager", "analyst", "ministry", "vendor", "nobody"},
    Action.NATIONAL_AGGREGATES: {"ministry"},
    Action.REVIEW_REQUESTS: {"ministry"},
    Action.APPROVE_EXPORTS: {"ministry"},
    Action.REGISTER_VENDORS: {"ministry"},
    Action.REVIEW_USAGE: {"ministry"},
    Action.REVIEW_INGEST: {"ministry"},
    Action.COLLECT_VAULT: {"vendor"},
}
PEOPLE = {"manager": MANAGER, "analyst": ANALYST, "ministry": MINISTRY, "vendor": VENDOR, "nobody": NOBODY}


def test_every_action_has_an_expectation():
    assert set(EXPECTED) == set(Action)


@pytest.mark.parametrize("who", sorted(PEOPLE))
@pytest.mark.parametrize("action", list(Action), ids=str)
def test_role_by_action_matrix(who, action):
    authority = "5000" if action in AUTHORITY_ACTIONS else None
    assert allowed(PEOPLE[who], action, authority) == (who in EXPECTED[action])


@pytest.mark.parametrize("action", sorted(AUTHORITY_ACTIONS))
def test_nobody_holds_authority_actions_in_another_authority(action):
    for person in PEOPLE.values():
        assert not allowed(person, action, "70")


def test_ministry_staff_never_see_childrens_details():
    assert not allowed(MINISTRY, Action.VIEW_ROWS, "5000")
    assert not allowed(MINISTRY, Action.VIEW_PERSONAL, "5000")


def test_signed_out_person_may_do_nothing():
    assert not any(allowed(Principal(email=""), a, "5000") for a in Action)
