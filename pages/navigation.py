"""Which pages a person may open: the one rule app.py uses to build its navigation.

Kept out of app.py (which runs the app when imported) so tests can check every role against every
page. A page needing an authority-scoped action is shown only when an authority is open and the
action is allowed there; any other page follows `allowed` alone.
"""
from __future__ import annotations

from auth.permissions import AUTHORITY_ACTIONS, Principal, allowed
from pages.registry import PAGES, PageSpec


def visible_pages(principal: Principal, authority: str | None) -> list[PageSpec]:
    out = []
    for spec in PAGES:
        if spec.needs is None:
            if principal.email:
                out.append(spec)
        elif spec.needs in AUTHORITY_ACTIONS:
            if authority and allowed(principal, spec.needs, authority):
                out.append(spec)
        elif allowed(principal, spec.needs):
            out.append(spec)
    return out
