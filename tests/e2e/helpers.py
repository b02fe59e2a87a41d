"""Browser helpers for the end-to-end tests: sign in through the real login provider, wait for a
Streamlit script run to finish, and save screenshots under test-artifacts/.

    page = login(context, "tlv-manager")         # returns on the app, script run finished
    page.get_by_role("link", name="תלמידים").click(); wait_for_app(page)
    screenshot(page, "students")
"""
from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, expect

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"

# Debian's chromium, never a downloaded browser build.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

LOGIN_LABEL = "כניסה"            # app.py's login button (Hebrew is the default language)
TIMEOUT_MS = 60_000             # a cold first script run imports polars, duckdb and plotly


def _block_cdn(context: BrowserContext) -> None:
    """The provider's page links CSS from a CDN; there is no internet here, so fail it at once."""
    if not getattr(context, "_mifkad_cdn_blocked", False):
        context.route(re.compile(r"^https?://(?!127\.0\.0\.1|localhost)"), lambda route: route.abort())
        context._mifkad_cdn_blocked = True


def wait_for_app(page: Page, timeout: float = TIMEOUT_MS) -> Page:
    """Return once the app is connected and its script run has finished (the running indicator is
    gone and no element from the previous run is still shown as stale)."""
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=timeout)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)
    expect(page.locator("[data-testid='stSkeleton']")).to_have_count(0, timeout=timeout)
    expect(page.locator("[data-stale='true']")).to_have_count(0, timeout=timeout)
    return page


def click_and_wait(page: Page, locator) -> Page:
    """Click something that makes Streamlit rerun, and wait for that rerun to finish.

    A click starts the rerun asynchronously; waiting for 'running' first (when it shows) keeps us
    from reading the previous run's page."""
    locator.click()
    try:
        page.wait_for_selector("[data-testid='stApp'][data-test-script-state='running']", timeout=2_000)
    except Exception:   # a fast rerun may have started and finished before we looked
        pass
    return wait_for_app(page)


def login(page_or_context: Page | BrowserContext, sub: str, base_url: str | None = None) -> Page:
    """Sign in as a preset user (`devtools/users.py` subjects) through the local OpenID provider.

    Takes a page, or a browser context (a new page is opened in it). Returns the page on the app,
    after the first signed-in script run finished."""
    if isinstance(page_or_context, Page):
        page = page_or_context
    else:
        page = page_or_context.new_page()
    _block_cdn(page.context)
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(base_url or "/")
    app_origin = "/".join(page.url.split("/")[:3])
    wait_for_app(page)
    page.get_by_role("button", name=LOGIN_LABEL).click()
    # The provider's authorisation form asks for the subject ("sub"), then Authorize.
    sub_input = page.locator("input[name='sub']")
    sub_input.wait_for(timeout=TIMEOUT_MS)
    sub_input.fill(sub)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(lambda url: url.startswith(app_origin) and "/oauth2callback" not in url,
                      timeout=TIMEOUT_MS)
    wait_for_app(page)
    expect(page.get_by_role("button", name=LOGIN_LABEL)).to_have_count(0)
    return page


def screenshot(page: Page, name: str) -> Path:
    """Save a full screenshot as test-artifacts/<name>.png (the directory is git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def page_text(page: Page) -> str:
    """The visible text of the main area, for asserting numbers and names."""
    return page.locator("[data-testid='stMain']").inner_text()
