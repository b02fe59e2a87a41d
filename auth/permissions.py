"""Roles and permissions as data, and the one function that decides.

Every page and every action asks `allowed(principal, action, authority)`. A Principal is rebuilt from
the portal's own records on every rerun (`auth.principal.load_principal`), never from login claims.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Action(StrEnum):
    # Within one authority's census.
    VIEW_AGGREGATES = "view_aggregates"      # counts and charts
    VIEW_ROWS = "view_rows"                  # student-level rows (personal details masked)
    VIEW_PERSONAL = "view_personal"          # names, identity numbers, phones, addresses
    DOWNLOAD_EXPORT = "download_export"      # the approved weekly package
    DELEGATE = "delegate"                    # grant colleagues some of one's own actions
    GRANT_POA = "grant_poa"                  # give a software vendor power of attorney
    VIEW_AUDIT = "view_audit"                # the audit trail of one's own authority
    # Not tied to an authority.
    FILE_REQUEST = "file_request"            # file an authority's access request (Form A)
    NATIONAL_AGGREGATES = "national_aggregates"
    REVIEW_REQUESTS = "review_requests"
    APPROVE_EXPORTS = "approve_exports"
    REGISTER_VENDORS = "register_vendors"
    REVIEW_USAGE = "review_usage"
    REVIEW_INGEST = "review_ingest"
    COLLECT_VAULT = "collect_vault"          # a vendor user collects delivered packages


AUTHORITY_ACTIONS = frozenset({
    Action.VIEW_AGGREGATES, Action.VIEW_ROWS, Action.VIEW_PERSONAL, Action.DOWNLOAD_EXPORT,
    Action.DELEGATE, Action.GRANT_POA, Action.VIEW_AUDIT,
})

# Children's rows, personal details and the package that holds them: never for ministry staff, even
# if someone appointed or granted them in an authority (the table below says why).
CHILDRENS_DETAILS = frozenset({Action.VIEW_ROWS, Action.VIEW_PERSONAL, Action.DOWNLOAD_EXPORT})

# What a roster manager may hand on to a colleague (never more than they hold themselves).
DELEGABLE = (Action.VIEW_AGGREGATES, Action.VIEW_ROWS, Action.VIEW_PERSONAL, Action.DOWNLOAD_EXPORT)


class Role(StrEnum):
    MINISTRY = "ministry"
    ROSTER_MANAGER = "roster_manager"
    ANALYST = "analyst"
    VENDOR = "vendor"
    SIGNED_IN = "signed_in"


# The permission table. Ministry staff see national aggregates and usage, never children's details.
ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.MINISTRY: frozenset({
        Action.NATIONAL_AGGREGATES, Action.REVIEW_REQUESTS, Action.APPROVE_EXPORTS,
        Action.REGISTER_VENDORS, Action.REVIEW_USAGE, Action.REVIEW_INGEST,
    }),
    Role.ROSTER_MANAGER: frozenset({
        Action.VIEW_AGGREGATES, Action.VIEW_ROWS, Action.VIEW_PERSONAL, Action.DOWNLOAD_EXPORT,
        Action.DELEGATE, Action.GRANT_POA, Action.VIEW_AUDIT, Action.FILE_REQUEST,
    }),
    Role.ANALYST: frozenset(),            # exactly what their grants say, per authority
    Role.VENDOR: frozenset({Action.COLLECT_VAULT}),
    Role.SIGNED_IN: frozenset({Action.FILE_REQUEST}),
}


@dataclass(frozen=True)
class Principal:
    """Who is asking, and what the portal's records let them do right now."""
    email: str
    name: str = ""
    ministry: bool = False
    # authority -> actions held there (roster-manager actions or delegated ones), access open only.
    authority_actions: dict[str, frozenset[Action]] = field(default_factory=dict)
    managed: frozenset[str] = frozenset()     # authorities where they are roster manager
    vendor_ids: frozenset[int] = frozenset()

    @property
    def roles(self) -> frozenset[Role]:
        roles = {Role.SIGNED_IN}
        if self.ministry:
            roles.add(Role.MINISTRY)
        if self.managed:
            roles.add(Role.ROSTER_MANAGER)
        if any(a not in self.managed for a in self.authority_actions):
            roles.add(Role.ANALYST)
        if self.vendor_ids:
            roles.add(Role.VENDOR)
        return frozenset(roles)

    @property
    def authorities(self) -> list[str]:
        """Authorities whose census this person may open, in a stable order."""
        return sorted(a for a, acts in self.authority_actions.items() if acts)


ANONYMOUS = Principal(email="")


def allowed(principal: Principal, action: Action, authority: str | None = None) -> bool:
    """The one decision. Authority-scoped actions need the authority; others must not name one."""
    if not principal.email:
        return False
    action = Action(action)
    if action in CHILDRENS_DETAILS and principal.ministry:
        return False
    if action in AUTHORITY_ACTIONS:
        if authority is None:
            return any(action in acts for acts in principal.authority_actions.values())
        return action in principal.authority_actions.get(str(authority), frozenset())
    return any(action in ROLE_ACTIONS[role] for role in principal.roles)
