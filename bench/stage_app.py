"""The running app on the benchmark's snapshot: every page visited in a real browser, the server's peak
memory, then N concurrent sessions touring every page.

The app runs as in production (devtools.stack: login provider, app on free ports); Debian's chromium
drives it through Playwright, signing in through the local OpenID provider like a person would. One
chromium holds every session as its own browser context (separate cookies, separate Streamlit
session), driven by asyncio from one thread. Page time = from the click on a navigation link to the
end of the script run it starts (the app's own "running" indicator going off).
"""
from __future__ import annotations

import asyncio
import os
import re
import socket
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOGIN_LABEL = "כניסה"
APP_READY = "[data-testid='stApp'][data-test-connection-state='CONNECTED'][data-test-script-state='notRunning']"

# Watches the app's script-run state, so that even a run too short to poll is seen to have happened.
_WATCH_JS = """() => {
  window.__benchRuns = 0;
  const app = document.querySelector("[data-testid='stApp']");
  if (!app || app.__benchWatched) return;
  app.__benchWatched = true;
  new MutationObserver(() => {
    if (app.getAttribute('data-test-script-state') === 'running') window.__benchRuns += 1;
  }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""
# A run has started once the watcher saw it or the address is the new page's (Streamlit sets it when
# the page's run begins); it has ended when the app is idle again with nothing stale left on screen.
_STARTED_JS = """href => window.__benchRuns > 0 || location.href.split('?')[0] === href"""
_SETTLED_JS = """href => {
  const app = document.querySelector("[data-testid='stApp']");
  return (window.__benchRuns > 0 || location.href.split('?')[0] === href)
      && app && app.getAttribute('data-test-script-state') === 'notRunning'
      && app.getAttribute('data-test-connection-state') === 'CONNECTED'
      && !document.querySelector("[data-stale='true']") && !document.querySelector("[data-testid='stSkeleton']");
}"""
# A click that started nothing after this long (the link re-rendered under the pointer) is repeated once.
CLICK_RETRY_MS = 30_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed_records(snapshot_date: str, authority: str, manager_email: str) -> None:
    """The records the tour needs in the benchmark's home: the largest authority open, the preset
    roster manager appointed there, the snapshot approved (so export pages show their package)."""
    from auth.records import appoint_roster_manager, ensure_configured_admins, open_access
    from data.approvals import approve, get_approval
    ensure_configured_admins()
    open_access(authority, by="operator:bench", basis="operator")
    appoint_roster_manager(authority, manager_email, by="operator:bench")
    if get_approval(snapshot_date) is None:
        approve(snapshot_date, by="operator:bench", note="benchmark snapshot")


def cpu_seconds(pid: int) -> dict:
    """CPU time used so far by a process and by the whole machine (busy, and all including idle)."""
    tick = os.sysconf("SC_CLK_TCK")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    machine = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = machine[3] + machine[4]                 # idle + iowait
    return {"process": (int(fields[11]) + int(fields[12])) / tick,
            "machine_busy": (sum(machine[:8]) - idle) / tick, "machine_all": sum(machine[:8]) / tick}


def process_memory_mb(pid: int) -> dict:
    """Peak (VmHWM) and current (VmRSS) resident memory of a running process, from /proc."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            out[key] = int(value.split()[0]) / 1024
    return out


async def login(context, base_url: str, sub: str, timeout_ms: float):
    """Sign in as a preset user through the provider's form; returns the page on the app."""
    page = await context.new_page()
    page.set_default_timeout(timeout_ms)
    await page.goto(base_url + "/")
    await page.wait_for_selector(APP_READY, timeout=timeout_ms)
    await page.get_by_role("button", name=LOGIN_LABEL).click()
    sub_input = page.locator("input[name='sub']")
    await sub_input.wait_for(timeout=timeout_ms)
    await sub_input.fill(sub)
    await page.get_by_role("button", name="Authorize").click()
    await page.wait_for_url(lambda url: url.startswith(base_url) and "/oauth2callback" not in url, timeout=timeout_ms)
    await page.wait_for_selector(APP_READY, timeout=timeout_ms)
    await page.wait_for_selector("[data-testid='stSidebarNav']", timeout=timeout_ms)
    return page


async def nav_links(page) -> list[str]:
    """Every page's link in the sidebar navigation (unfolded if folded), the current page last."""
    more = page.locator("[data-testid='stSidebarNavViewButton']")
    if await more.count():
        await more.first.click()
    hrefs = await page.locator("[data-testid='stSidebarNav'] a").evaluate_all("els => els.map(e => e.href)")
    unique = list(dict.fromkeys(hrefs))
    here = page.url.split("?")[0]
    return [h for h in unique if h != here] + [h for h in unique if h == here]


def _page_name(href: str) -> str:
    return href.split("://", 1)[-1].split("/", 1)[-1].split("?")[0] or "home"


async def visit(page, href: str, timeout_ms: float) -> dict:
    """Click the navigation link to `href` and wait for the script run it starts to finish."""
    await page.evaluate(_WATCH_JS)
    link = page.locator(f"[data-testid='stSidebarNav'] a[href='{href}']").first
    start = time.perf_counter()
    error, retried = None, False
    try:
        await link.click()
        try:
            await page.wait_for_function(_STARTED_JS, arg=href, timeout=min(CLICK_RETRY_MS, timeout_ms), polling=50)
        except Exception:
            retried = True
            await link.click()
        remaining = max(1_000, timeout_ms - (time.perf_counter() - start) * 1000)
        await page.wait_for_function(_SETTLED_JS, arg=href, timeout=remaining, polling=50)
    except Exception as exc:   # a timeout is a failed page visit, reported, not a crash of the run
        error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    seconds = time.perf_counter() - start
    if error is None:
        exceptions = page.locator("[data-testid='stException']")
        if await exceptions.count():
            error = "exception shown: " + (await exceptions.first.inner_text())[:300].replace("\n", " ")
    return {"page": _page_name(href), "seconds": seconds, "error": error, "retried": retried}


async def tour(browser, base_url: str, sub: str, timeout_ms: float, label: str, log=None) -> list[dict]:
    """One person's session: sign in, then open every page in the navigation once, in order."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000}, locale="he-IL",
                                        timezone_id="Asia/Jerusalem")
    # No internet: the provider's page links a CDN stylesheet; fail such requests at once.
    await context.route(re.compile(r"^https?://(?!127\.0\.0\.1|localhost)"), lambda route: route.abort())
    visits = []
    try:
        start = time.perf_counter()
        try:
            page = await login(context, base_url, sub, timeout_ms)
        except Exception as exc:
            return [{"user": sub, "session": label, "page": "login", "seconds": time.perf_counter() - start,
                     "error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}]
        visits.append({"user": sub, "session": label, "page": "login", "seconds": time.perf_counter() - start,
                       "error": None})
        if log:
            log(f"    {label}: signed in after {visits[-1]['seconds']:.1f} s")
        for path in await nav_links(page):
            visits.append({"user": sub, "session": label, **await visit(page, path, timeout_ms)})
            if log:
                v = visits[-1]
                log(f"    {label}: {v['page']} {v['seconds']:.1f} s{' (click repeated)' if v['retried'] else ''}"
                    f"{' ERROR ' + v['error'] if v['error'] else ''}")
    finally:
        await context.close()
    return visits


async def _run(base_url: str, app_pid: int, tours: list[tuple[str, str]], sessions: int, session_sub: str,
               timeout_ms: float, log) -> dict:
    from playwright.async_api import async_playwright
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            single = []
            for label, sub in tours:
                visits = await tour(browser, base_url, sub, timeout_ms, label)
                single += visits
                log(f"  {sub} ({label} visits): {len(visits) - 1} pages, "
                    f"{sum(1 for v in visits if v['error'])} errors")
            after_tour = process_memory_mb(app_pid)
            log(f"  app after visiting every page: peak {after_tour.get('VmHWM', 0):.0f} MB")
            start = time.perf_counter()
            cpu_before = cpu_seconds(app_pid)
            results = await asyncio.gather(*(tour(browser, base_url, session_sub, timeout_ms, f"s{i + 1}", log)
                                             for i in range(sessions)))
            wall = time.perf_counter() - start
            cpu_after = cpu_seconds(app_pid)
            concurrent = [v for r in results for v in r]
            after_load = process_memory_mb(app_pid)
            log(f"  {sessions} concurrent sessions: {len(concurrent)} visits in {wall:.0f} s, "
                f"{sum(1 for v in concurrent if v['error'])} errors")
        finally:
            await browser.close()
    return {"single": single, "concurrent": concurrent, "concurrent_wall": wall, "sessions": sessions,
            "mem_after_tour": after_tour, "mem_after_load": after_load,
            "concurrent_cpu": {k: cpu_after[k] - cpu_before[k] for k in cpu_before}}


def server_side(users: list[str]) -> dict:
    """Each page's script run on the server alone, without browser or network: AppTest runs app.py in
    this process as each user (e-mail) and opens every page they may see, twice (first run, then again
    with the query results cached, like the browser tour's two visits). Runs in a child process."""
    from devtools.serve import disable_legacy_pages_folder
    from streamlit.testing.v1 import AppTest

    from common.config import REPO_ROOT
    disable_legacy_pages_folder()
    out: dict[str, dict[str, list[float]]] = {}
    for email in users:
        at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=600)
        at.user = {"is_logged_in": True, "email": email, "name": email, "sub": email}
        at.run()
        pages = {info.get("url_pathname") or "home": h for h, info in at._registered_pages.items()}
        times = out.setdefault(email, {})
        for slug, page_hash in pages.items():
            for _ in range(2):
                # AppTest's switch_page knows only file pages: select the st.Page as its link would.
                at._page_hash = page_hash
                start = time.perf_counter()
                at.run()
                times.setdefault(slug, []).append(time.perf_counter() - start)
            if at.exception:          # reported beside the time; the browser tour counts page errors
                times[slug].append(f"error: {str(at.exception[0].value)[:200]}")
    return out


def tour_users() -> tuple[dict, dict]:
    """A preset roster manager (appointed to the largest authority here) and the ministry admin."""
    from devtools.users import PRESET_USERS
    return (next(u for u in PRESET_USERS if u["role"] == "roster_manager"),
            next(u for u in PRESET_USERS if u["role"] == "ministry"))


def measure(home: Path, snapshot_date: str, authority: str, sessions: int, timeout_s: float, repeat: bool,
            log) -> dict:
    """Start the stack on the benchmark's home, tour every page (first visits, which include each
    page's first imports; with `repeat` the manager's tour again, warm), then load it with N sessions."""
    from bench import child
    from devtools.stack import Stack
    manager, ministry = tour_users()
    seed_records(snapshot_date, authority, manager["email"])
    server = child.run("bench.stage_app:server_side", {"users": [manager["email"], ministry["email"]]},
                       env={"MIFKAD_HOME": str(home)})["result"]
    log("  server-side script runs (AppTest, first/again): " + ", ".join(
        f"{slug} {t[0]:.2f}/{t[1]:.2f} s" for slug, t in server[manager["email"]].items()))
    stack = Stack(home=home, app_port=free_port(), oidc_port=free_port(), smtp_port=free_port(),
                  sms_port=free_port())
    started = time.perf_counter()
    stack.start()
    try:
        app = next(p for p in stack.processes if "devtools.serve" in p.args)
        mem_start = process_memory_mb(app.pid)
        log(f"  stack up in {time.perf_counter() - started:.1f} s; app pid {app.pid}, "
            f"{mem_start.get('VmRSS', 0):.0f} MB at start")
        tours = [("first", manager["sub"]), ("first", ministry["sub"])]
        if repeat:
            tours.append(("repeat", manager["sub"]))
        result = asyncio.run(_run(f"http://127.0.0.1:{stack.app_port}", app.pid,
                                  tours, sessions, manager["sub"], timeout_s * 1000, log))
        log_text = (home / "logs" / "app.log").read_text(encoding="utf-8", errors="replace")
        result["mem_start"] = mem_start
        result["server_tracebacks"] = log_text.count("Traceback (most recent call last)")
        result["tours"] = tours
        result["server_side"] = {next(u["sub"] for u in (manager, ministry) if u["email"] == email): times
                                 for email, times in server.items()}
        return result
    finally:
        stack.stop()
