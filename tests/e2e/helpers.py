"""Browser helpers for the end-to-end tests: sign in through the real login provider, wait for a
Streamlit script run to finish, and save screenshots under test-artifacts/.

    page = login(context, "tlv-manager")         # returns on the app, script run finished
    page.get_by_role("link", name="תלמידים").click(); wait_for_app(page)
    screenshot(page, "students")
"""
from __future__ import annotations

import re
import time
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, expect

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"

# Debian's chromium, never a downloaded browser build.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

BIDI_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
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
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=timeout)
    expect(page.locator("[data-testid='stSkeleton']")).to_have_count(0, timeout=timeout)
    expect(page.locator("[data-stale='true']")).to_have_count(0, timeout=timeout)
    return page


_WATCH_RUNS = """() => {
    const app = document.querySelector("[data-testid='stApp']");
    if (window.__mifkadWatch) window.__mifkadWatch.disconnect();
    window.__mifkadRuns = 0;
    window.__mifkadWatch = new MutationObserver(records => { window.__mifkadRuns += records.length; });
    window.__mifkadWatch.observe(app, {attributes: true, attributeFilter: ["data-test-script-state"]});
}"""


def rerun_after(page: Page, action) -> Page:
    """Do something that makes Streamlit rerun (`action()`), and return when that rerun finished.

    The script state is watched from before the action, so a rerun that starts and ends between two
    looks is still seen, and the previous run's page is never mistaken for the new one."""
    page.evaluate(_WATCH_RUNS)
    action()
    page.wait_for_function("() => window.__mifkadRuns > 0", timeout=TIMEOUT_MS)
    return wait_for_app(page)


def click_and_wait(page: Page, locator) -> Page:
    """Click something that makes Streamlit rerun, and wait for that rerun to finish."""
    return rerun_after(page, locator.click)


def open_page(page: Page, title: str) -> Page:
    """Open a page through the sidebar navigation by its title (expanding "View more" when the list is
    folded), and wait for its script run."""
    nav = page.get_by_test_id("stSidebarNav")
    link = nav.get_by_test_id("stSidebarNavLink").filter(has_text=title).first
    more = nav.get_by_test_id("stSidebarNavViewButton")
    if not link.is_visible() and more.count() and more.inner_text().strip().endswith("more"):
        more.click()
    return click_and_wait(page, link)


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


def table_rows(page: Page, index: int = 0) -> list[list[str]]:
    """The cell texts of the index-th table (st.dataframe) on the page, header row first.

    The grid draws on a canvas; its accessible table mirror holds the rows in view."""
    grid = page.get_by_test_id("stDataFrame").nth(index)
    rows = grid.locator("[role='row']")
    expect(rows.first).to_be_attached()
    cells = rows.evaluate_all(
        "rows => rows.map(r => Array.from(r.querySelectorAll('th, td')).map(c => c.textContent.trim()))")
    return [[BIDI_MARKS.sub("", c) for c in row] for row in cells]   # numbers may be marked left-to-right


def wait_for_table(page: Page, predicate, index: int = 0, timeout: float = TIMEOUT_MS) -> list[list[str]]:
    """The table's rows once `predicate(rows)` holds: the grid redraws a moment after the script run."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        rows = table_rows(page, index)
        if predicate(rows) or time.monotonic() > deadline:
            return rows
        page.wait_for_timeout(100)


def choose(page: Page, label: str, option: str) -> Page:
    """Pick `option` in the selectbox labelled `label` (a no-op, and no rerun, if already chosen)."""
    box = page.get_by_role("combobox", name=label)
    if box.input_value() == option:
        return page
    box.click()
    return click_and_wait(page, page.get_by_role("option", name=option, exact=True))


def toolbar_buttons(page: Page, index: int = 0) -> list[str]:
    """The labels of a table's toolbar buttons (shown on hover)."""
    page.get_by_test_id("stDataFrame").nth(index).hover()
    buttons = page.get_by_test_id("stElementToolbar").get_by_role("button")
    expect(buttons.first).to_be_visible()
    return [b.get_attribute("aria-label") or b.inner_text() for b in buttons.all()]


def screenshot(page: Page, name: str) -> Path:
    """Save a full screenshot as test-artifacts/<name>.png (the directory is git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def page_text(page: Page) -> str:
    """The visible text of the main area, for asserting numbers and names."""
    return page.locator("[data-testid='stMain']").inner_text()
