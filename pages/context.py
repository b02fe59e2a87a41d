"""What a page knows about the request: who, which authority, which snapshot, which language.

app.py builds the context on every rerun from the portal's records and sets it for the page it runs;
a page that finds no context (run without the entry script and its login gate) refuses to render.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from auth.permissions import Action, Principal, allowed
from data.snapshots import Snapshot
from queries import Scope

_current = threading.local()


@dataclass(frozen=True)
class PageContext:
    principal: Principal
    authority: str | None         # the authority whose census is open, if any
    authority_name: str | None
    snapshot: Snapshot | None     # the latest published snapshot
    lang: str

    def allowed(self, action: Action, authority: str | None = None) -> bool:
        from auth.permissions import AUTHORITY_ACTIONS
        if Action(action) in AUTHORITY_ACTIONS:
            return allowed(self.principal, action, authority or self.authority)
        return allowed(self.principal, action)

    def scope(self, snapshot: Snapshot | None = None) -> Scope:
        """The query scope for this authority; personal details only with that action."""
        if not self.authority or not self.allowed(Action.VIEW_AGGREGATES):
            raise PermissionError("no authority open")
        return Scope(snapshot=snapshot or self.snapshot, authority=self.authority,
                     personal=self.allowed(Action.VIEW_PERSONAL))

    def national_scope(self, snapshot: Snapshot | None = None) -> Scope:
        if not self.allowed(Action.NATIONAL_AGGREGATES):
            raise PermissionError("national aggregates are for ministry staff")
        return Scope(snapshot=snapshot or self.snapshot, authority=None, personal=False)


    def record_view(self, page: str, filters: dict | None = None) -> None:
        """Audit a page view with its filters; a rerun with the same page and filters is not a new view."""
        import json

        import streamlit as st

        from auth import audit
        key = json.dumps([page, self.authority, filters or {}], sort_keys=True, ensure_ascii=False, default=str)
        if st.session_state.get("_last_view") == key:
            return
        audit.record("page_view", actor=self.principal.email, authority=self.authority,
                     details={"page": page, "filters": filters or {}})
        st.session_state["_last_view"] = key


def set_current(ctx: PageContext | None) -> None:
    _current.ctx = ctx


def current() -> PageContext:
    ctx = getattr(_current, "ctx", None)
    if ctx is None:
        raise PermissionError("page run without the login gate")
    return ctx
