"""Turn the benchmark's measurements into the summary table, detail tables and analysis of
docs/benchmarks.md. Everything here is computed from the results: nothing is written by hand, so the
document always says what the last run saw.
"""
from __future__ import annotations

from dataclasses import dataclass

from bench.stats import median, p95
from data.snapshots import DERIVED_TABLES

TARGETS = {
    "ingest_s": 60.0, "ingest_ratio": 3.0, "ingest_gb": 3.0,
    "query_p95_ms": 150.0, "query_speedup": 10.0,
    "csv_s": 5.0, "csv_ratio": 2.0, "xlsx_s": 30.0,
    "app_gb": 1.5, "concurrent_errors": 0,
}


@dataclass
class Figure:
    name: str
    value: str
    baseline: str = "—"
    ratio: str = "—"
    target: str = "—"
    met: bool | None = None          # None: no target, or not measured
    why: str = ""                    # for a missed target: the measured reason, in the analysis

    @property
    def verdict(self) -> str:
        return {True: "met", False: "**MISSED**", None: "—"}[self.met]


def _s(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"


def _ms(ms: float | None) -> str:
    if ms is None:
        return "—"
    return f"{ms:.0f} ms" if ms >= 10 else f"{ms:.1f} ms"


def _gb(mb: float | None) -> str:
    return "—" if mb is None else f"{mb / 1024:.2f} GB"


def _x(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio:.1f}×"


def _all(*checks) -> bool | None:
    checks = [c for c in checks if c is not None]
    return None if not checks else all(checks)


# ------------------------------------------------------------------------------------------ figures

def ingest_figures(r: dict) -> list[Figure]:
    ing = [run["seconds"] for run in r["ingest"]]
    base = [run["seconds"] for run in r["baseline"]]
    t, b = median(ing), median(base)
    ratio = t / b if b else None
    peak = max(run["peak_rss_mb"] for run in r["ingest"])
    base_peak = max(run["peak_rss_mb"] for run in r["baseline"])
    phases = _median_phases(r["ingest"])
    top = sorted(phases.items(), key=lambda kv: -kv[1])
    why = ""
    if top:
        name, secs = top[0]
        why = (f"the {name} phase alone takes {_s(secs)} ({secs / t * 100:.0f} % of ingest, "
               f"{_x(secs / b if b else None)} the whole baseline); then "
               + ", ".join(f"{k} {_s(v)}" for k, v in top[1:4]) + " (medians of the runs' own timings)")
    return [
        Figure(f"Ingest with every check (median of {len(ing)})", _s(t),
               f"{_s(b)} DuckDB CSV→Parquet, no checks", _x(ratio),
               f"≤ {TARGETS['ingest_s']:.0f} s and ≤ {TARGETS['ingest_ratio']:.0f}× baseline",
               _all(t <= TARGETS["ingest_s"], ratio <= TARGETS["ingest_ratio"] if ratio else None), why),
        Figure("Ingest peak memory (child process, max of runs)", _gb(peak), f"{_gb(base_peak)} baseline",
               _x(peak / base_peak if base_peak else None), f"≤ {TARGETS['ingest_gb']:.0f} GB",
               peak / 1024 <= TARGETS["ingest_gb"],
               "ingest's DuckDB connection is capped by MIFKAD_INGEST_MEMORY (data/ingest); the rest is "
               "the interpreter, polars and the checks' buffers"),
    ]


def _median_phases(runs: list[dict]) -> dict[str, float]:
    """Each ingest phase's median over the runs (ingest reports its own phase timings)."""
    names = {k for run in runs for k in ((run.get("result") or {}).get("phases") or {})}
    return {k: median([run["result"]["phases"][k] for run in runs if k in (run["result"].get("phases") or {})])
            for k in names}


def _speedup(row: dict) -> float | None:
    """pandas p95 ÷ DuckDB p95, pandas working on tables already in memory (the strict comparison)."""
    if row.get("pandas_p95_ms") and row.get("p95_ms"):
        return row["pandas_p95_ms"] / row["p95_ms"]
    return None


def _speedup_reading(row: dict) -> float | None:
    """The same, pandas first reading the tables the statement needs from Parquet (as DuckDB does)."""
    if row.get("pandas_p95_ms") and row.get("p95_ms"):
        return (row["pandas_p95_ms"] + row.get("pandas_read_ms", 0)) / row["p95_ms"]
    return None


def _faster(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio:.1f}× faster" if ratio >= 1 else f"{1 / ratio:.1f}× slower"


def _query_group(label: str, rows: list[dict]) -> list[Figure]:
    slowest = max(rows, key=lambda r: r["p95_ms"])
    over = [r for r in rows if r["p95_ms"] > TARGETS["query_p95_ms"]]
    why = "; ".join(f"`{r['statement']}` {_ms(r['p95_ms'])}" + (f" ({_ops(r)})" if r.get("top_operators") else "")
                    for r in sorted(over, key=lambda r: -r["p95_ms"]))
    out = [Figure(f"Page queries, {label}: slowest p95 of {len(rows)}",
                  f"{_ms(slowest['p95_ms'])} `{slowest['statement']}`",
                  f"{_ms(slowest.get('pandas_p95_ms'))} pandas", _faster(_speedup(slowest)),
                  f"≤ {TARGETS['query_p95_ms']:.0f} ms", not over, why)]
    compared = [r for r in rows if _speedup(r) is not None]
    if compared:
        least = min(compared, key=_speedup)
        weak = sorted((r for r in compared if _speedup(r) < TARGETS["query_speedup"]), key=_speedup)
        why = (f"{len(weak)} of {len(compared)} statements: "
               + ", ".join(f"`{r['statement']}` {_x(_speedup(r))} ({_ms(r['p95_ms'])} vs {_ms(r['pandas_p95_ms'])})"
                           for r in weak)
               + "; see Where the time goes")
        out.append(Figure(f"Page queries, {label}: smallest speed-up over pandas with its tables in memory",
                          f"{_ms(least['p95_ms'])} `{least['statement']}`", f"{_ms(least['pandas_p95_ms'])} pandas",
                          _faster(_speedup(least)), f"≥ {TARGETS['query_speedup']:.0f}× faster", not weak, why))
        least = min(compared, key=_speedup_reading)
        out.append(Figure(f"Page queries, {label}: smallest speed-up over pandas reading the tables it needs",
                          f"{_ms(least['p95_ms'])} `{least['statement']}`",
                          f"{_ms(least['pandas_p95_ms'] + least.get('pandas_read_ms', 0))} pandas with reading",
                          _faster(_speedup_reading(least)), "(for comparison)"))
    return out


def query_figures(q: dict, authorities: list[dict]) -> list[Figure]:
    out = []
    for auth in authorities:
        rows = [r for r in q["results"] if r["authority"] == auth["code"]]
        label = f"{auth['name']} ({auth['code']}, {auth['students']:,} students)"
        for sl in q.get("slices", []):
            if sl["authority"] == auth["code"]:
                out.append(Figure(f"First page of {label} in a snapshot: its slice into memory (census and class counts / contacts)",
                                  f"{_ms(sl['census_ms'])} / {_ms(sl['contacts_ms'])}, {sl['mb'] or 0:.0f} MB held"))
        if rows:
            out += _query_group(label, rows)
    national = [r for r in q["results"] if r["authority"] is None]
    if national:
        out += _query_group("national and reference", national)
    return out


def export_figures(e: dict, authority: dict) -> list[Figure]:
    csv = median([r["seconds"] for r in e["csv"]])
    copy = median([r["seconds"] for r in e["copy"]])
    ratio = csv / copy if copy else None
    label = f"{authority['name']} ({authority['code']})"
    out = [Figure(f"CSV package, {label} (median of {len(e['csv'])})", _s(csv), f"{_s(copy)} DuckDB COPY to CSV",
                  _x(ratio), f"≤ {TARGETS['csv_s']:.0f} s and ≤ {TARGETS['csv_ratio']:.0f}× COPY",
                  _all(csv <= TARGETS["csv_s"], ratio <= TARGETS["csv_ratio"] if ratio else None),
                  f"the package spends {_s(csv - copy)} beyond COPY's {_s(copy)} on the byte-order mark, zip "
                  "compression, SHA-256 per file, manifest and atomic write")]
    if e["xlsx"]:
        xlsx = median([r["seconds"] for r in e["xlsx"]])
        out.append(Figure(f"XLSX workbook, {label} (median of {len(e['xlsx'])})", _s(xlsx),
                          f"{_s(copy)} DuckDB COPY to CSV", _x(xlsx / copy if copy else None),
                          f"≤ {TARGETS['xlsx_s']:.0f} s", xlsx <= TARGETS["xlsx_s"],
                          _xlsx_why(e["xlsx"][-1]["result"])))
    out.append(Figure("Package build peak memory (CSV package / XLSX)",
                      f"{_gb(max(r['peak_rss_mb'] for r in e['csv']))} / "
                      f"{_gb(max(r['peak_rss_mb'] for r in e['xlsx'])) if e['xlsx'] else '—'}",
                      f"{_gb(max(r['peak_rss_mb'] for r in e['copy']))} COPY"))
    if e.get("production"):
        run = e["production"][0]
        out.append(Figure(f"Background builder after approval, {label}: vendor and people zips and the workbook",
                          f"{_s(run['seconds'])}, peak {_gb(run['peak_rss_mb'])}"))
    return out


def _xlsx_why(x: dict) -> str:
    rate = x["cells"] / x["write_s"] if x.get("write_s") else 0
    return (f"{_s(x['read_s'])} reading the six tables, {_s(x['write_s'])} writing {x['cells']:,} cells "
            f"({rate / 1e6:.1f} million a second)")


def _page_ms(visits: list[dict]) -> list[float]:
    return [v["seconds"] * 1000 for v in visits if v["page"] != "login" and not v["error"]]


def app_figures(a: dict) -> list[Figure]:
    first = [v for v in a["single"] if v["session"] == "first"]
    repeat = [v for v in a["single"] if v["session"] == "repeat"]
    warm = repeat or first
    conc_errors = sum(1 for v in a["concurrent"] if v["error"])
    retried = sum(1 for v in a["concurrent"] if v.get("retried"))
    limit_mb = TARGETS["app_gb"] * 1024
    tour_peak = a["mem_after_tour"].get("VmHWM")
    load_peak = a["mem_after_load"].get("VmHWM")
    single_p95, conc_p95 = p95(_page_ms(warm)), p95(_page_ms(a["concurrent"]))
    out = [
        Figure(f"App process peak memory after visiting every page ({len(_page_ms(a['single']))} visits)",
               _gb(tour_peak), target=f"≤ {TARGETS['app_gb']} GB",
               met=None if tour_peak is None else tour_peak <= limit_mb,
               why=f"{_gb(a['mem_start'].get('VmRSS'))} after start-up; the rest is DuckDB's buffers, the "
                   "result cache and the pages' libraries"),
        Figure(f"App process peak memory after {a['sessions']} concurrent sessions", _gb(load_peak),
               target=f"≤ {TARGETS['app_gb']} GB", met=None if load_peak is None else load_peak <= limit_mb,
               why=f"{_gb(tour_peak)} after one session's tour; each further session adds its state and "
                   "its queries' results"),
        Figure("Page time, one session, first visit of each page: p95", _ms(p95(_page_ms(first))),
               ratio=f"errors: {sum(1 for v in first if v['error'])}"),
    ]
    if repeat:
        out.append(Figure("Page time, one session, pages visited again: p95", _ms(single_p95),
                          ratio=f"errors: {sum(1 for v in repeat if v['error'])}"))
    out.append(Figure(f"{a['sessions']} concurrent sessions touring every page: p95 page time (errors)",
                      f"{_ms(conc_p95)} ({conc_errors} errors in {len(a['concurrent'])} visits"
                      + (f", {retried} clicks repeated" if retried else "") + ")",
                      f"{_ms(single_p95)} one session", _x(conc_p95 / single_p95 if conc_p95 and single_p95 else None),
                      "no errors", conc_errors == 0,
                      "; ".join(sorted({f"{v['page']}: {v['error'][:120]}"
                                        for v in a["concurrent"] if v["error"]}))[:600]))
    return out


# ------------------------------------------------------------------------------------------ rendering

def table(figures: list[Figure]) -> str:
    lines = ["| figure | value | baseline | ratio | target | verdict |", "|---|---|---|---|---|---|"]
    for f in figures:
        lines.append(f"| {f.name} | {f.value} | {f.baseline} | {f.ratio} | {f.target} | {f.verdict} |")
    return "\n".join(lines)


def query_table(q: dict, names: dict[str, str]) -> str:
    lines = ["| statement | authority | rows | runs | median | p95 | pandas p95 | speed-up | pandas p95 + reading "
             "| speed-up | verdict |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in sorted(q["results"], key=lambda r: (r["authority"] is None, r["authority"] or "", r["statement"])):
        sp = _speedup(r)
        ok = r["p95_ms"] <= TARGETS["query_p95_ms"] and (sp is None or sp >= TARGETS["query_speedup"])
        with_read = r["pandas_p95_ms"] + r.get("pandas_read_ms", 0) if r.get("pandas_p95_ms") else None
        lines.append(f"| `{r['statement']}` | {names.get(r['authority'], r['authority'] or 'national')} | "
                     f"{r['rows']:,} | {r['runs']} | {_ms(r['median_ms'])} | {_ms(r['p95_ms'])} | "
                     f"{_ms(r.get('pandas_p95_ms'))} | {_x(sp)} | {_ms(with_read)} | {_x(_speedup_reading(r))} | "
                     f"{'met' if ok else '**MISSED**'} |")
    return "\n".join(lines)


def page_table(a: dict) -> str:
    slots: dict[tuple, dict] = {}
    for v in a["single"] + a["concurrent"]:
        kind = v["session"] if v["session"] in ("first", "repeat") else "concurrent"
        slot = slots.setdefault((v["user"], v["page"]), {"first": [], "repeat": [], "concurrent": [], "errors": []})
        if v["error"]:
            slot["errors"].append(f"{kind}: {v['error']}")
        else:
            slot[kind].append(v["seconds"] * 1000)
    server = a.get("server_side") or {}
    lines = ["| user | page | server first | server again | browser first visit | browser again "
             "| concurrent median | concurrent p95 | errors |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for (user, page), slot in slots.items():
        times = server.get(user, {}).get(page) or []
        errors = [t for t in times if isinstance(t, str)]
        secs = [t for t in times if not isinstance(t, str)]
        first, again = (_ms(secs[0] * 1000) if secs else "—"), (_ms(secs[1] * 1000) if len(secs) > 1 else "—")
        errors = "; ".join(sorted(set(slot["errors"] + [f"server: {e}" for e in errors])))[:300] or "0"
        lines.append(f"| {user} | {page} | {first} | {again} | {_ms(median(slot['first']))} | "
                     f"{_ms(median(slot['repeat']))} | {_ms(median(slot['concurrent']))} | "
                     f"{_ms(p95(slot['concurrent']))} | {errors} |")
    return "\n".join(lines)


def machine_lines(m: dict) -> str:
    return (f"- {m['cores']} cores, {m['memory_gb']} GB memory, {m['cpu']}, {m['os']}\n"
            f"- Python {m['python']}, DuckDB {m['duckdb']}, polars {m['polars']}, Streamlit {m['streamlit']}\n"
            f"- run on {m['date']}; load average (1 min) {m.get('load_at_start', '?')} at the start, "
            f"{m.get('load_at_end', '?')} at the end (above {m['cores']} means other work shared the cores)"
            + ("; at the start of each stage: " + ", ".join(f"{k} {v}" for k, v in m["stage_load"].items())
               if m.get("stage_load") else ""))


# ------------------------------------------------------------------------------------------ analysis

def _ops(r: dict) -> str:
    ops = r.get("top_operators") or []
    return ", ".join(f"{o['operator']}{' ' + o['detail'] if o['detail'] else ''} "
                     f"{o['share'] * 100:.0f} %" if o.get("share") is not None else o["operator"] for o in ops)


def analysis(res: dict) -> list[str]:
    """Short paragraphs: where the time goes in each stage, and why a missed target is missed."""
    out = []
    ing = res.get("ingest")
    if ing:
        t = median([r["seconds"] for r in ing["ingest"]])
        b = median([r["seconds"] for r in ing["baseline"]])
        text = (f"**Ingest.** {_s(t)} against {_s(b)} for the bare CSV→Parquet conversion of the same files: "
                f"reading and writing the data is about {b / t * 100:.0f} % of ingest; the other {_s(t - b)} are "
                "the checks (identity numbers, codes, dates, keys, references), line numbers, rejected-row "
                "files and the derived tables (" + ", ".join(DERIVED_TABLES) + ").")
        phases = _median_phases(ing["ingest"])
        if phases:
            top = sorted(phases.items(), key=lambda kv: -kv[1])[:5]
            text += (" Slowest phases (ingest's own timings, medians): "
                     + ", ".join(f"{k} {_s(v)}" for k, v in top) + ".")
        out.append(text)
    q = res.get("queries")
    if q:
        slow = sorted((r for r in q["results"] if r["p95_ms"] > TARGETS["query_p95_ms"]), key=lambda r: -r["p95_ms"])
        profiled = [r for r in sorted(q["results"], key=lambda r: -r["p95_ms"]) if r.get("top_operators")]
        text = "**Page queries.** "
        if slow:
            text += (f"{len(slow)} statement run{'s exceed' if len(slow) > 1 else ' exceeds'} "
                     f"{TARGETS['query_p95_ms']:.0f} ms at p95: "
                     + ", ".join(f"`{r['statement']}` ({_ms(r['p95_ms'])}, {r['authority'] or 'national'})"
                                 for r in slow[:8]) + ". ")
        else:
            text += f"Every statement is within {TARGETS['query_p95_ms']:.0f} ms at p95. "
        if profiled:
            text += "Where the slowest spend their time (DuckDB profile, share of the query): " + "; ".join(
                f"`{r['statement']}`: {_ops(r)}" for r in profiled) + ". "
        if q.get("slices"):
            text += ("Each figure is warm: the authority's slice (its census rows and class counts, and its "
                     "contacts once a page reads them) is already in memory. Building it is the first page of an authority "
                     "in a snapshot: " + "; ".join(
                         f"{sl['authority']}: census {_ms(sl['census_ms'])}, contacts {_ms(sl['contacts_ms'])}, "
                         f"{sl['mb'] or 0:.0f} MB" for sl in q["slices"])
                     + " (contacts read the national link and details files once). ")
        weak = [r for r in q["results"] if _speedup(r) is not None and _speedup(r) < TARGETS["query_speedup"]]
        floor = min(q["results"], key=lambda r: r["p95_ms"])
        if weak:
            text += (f"{len(weak)} of {sum(1 for r in q['results'] if _speedup(r))} statement runs are less "
                     f"than {TARGETS['query_speedup']:.0f}× faster than pandas with its tables in memory, e.g. "
                     + ", ".join(f"`{r['statement']}` ({_x(_speedup(r))}, pandas {_ms(r['pandas_p95_ms'])})"
                                 for r in sorted(weak, key=_speedup)[:5])
                     + ". That pandas starts from tables already in memory (loading them took "
                     f"{_s(q['pandas_load_s'])}, untimed, and they hold {_gb(q.get('pandas_memory_mb'))}"
                     + (f": more than the app's whole {TARGETS['app_gb']} GB budget"
                        if (q.get("pandas_memory_mb") or 0) > TARGETS["app_gb"] * 1024 else "")
                     + "); its cost is one mask over the national census (about as long for a small "
                     "authority as for a large one), while each DuckDB run, on the authority's slice in "
                     "memory, pays a fixed cost per statement (binding, planning, starting each operator, "
                     "conversion to polars, masking) that grows with the statement's size, not the "
                     f"authority's: the cheapest statement, `{floor['statement']}` ({floor['rows']:,} rows), "
                     f"takes {_ms(floor['p95_ms'])}. "
                     "Counting what pandas would read from Parquet for the same page, "
                     "DuckDB is " + _x(min(_speedup_reading(r) for r in q["results"] if _speedup_reading(r)))
                     + " to " + _x(max(_speedup_reading(r) for r in q["results"] if _speedup_reading(r)))
                     + " faster. ")
        if q.get("pandas_missing"):
            text += "No pandas version for: " + ", ".join(f"`{n}`" for n in q["pandas_missing"]) + "."
        out.append(text.strip())
    e = res.get("exports")
    if e:
        csv = median([r["seconds"] for r in e["csv"]])
        copy = median([r["seconds"] for r in e["copy"]])
        text = (f"**Exports.** The CSV package took {_s(csv)} against {_s(copy)} for DuckDB's COPY of the "
                f"same rows to plain CSV files; the difference ({_s(csv - copy)}) is what the package adds to "
                "writing the rows: the byte-order mark, zip compression, a SHA-256 per file, the manifest "
                "and the atomic, fsynced write.")
        if e["xlsx"]:
            x = e["xlsx"][-1]["result"]
            rate = x["cells"] / x["write_s"] if x["write_s"] else 0
            text += (f" The workbook: {_s(x['read_s'])} reading, {_s(x['write_s'])} writing {x['cells']:,} cells "
                     f"({rate / 1e6:.1f} million cells a second): XLSX is XML text per cell, then deflated.")
        out.append(text)
    a = res.get("app")
    if a:
        warm = [v for v in a["single"] if v["session"] == "repeat"] or a["single"]
        slowest = sorted((v for v in warm if v["page"] != "login" and not v["error"]), key=lambda v: -v["seconds"])[:3]
        text = (f"**App.** The server process held {_gb(a['mem_start'].get('VmRSS'))} after start-up, peaked at "
                f"{_gb(a['mem_after_tour'].get('VmHWM'))} after one visit to every page and at "
                f"{_gb(a['mem_after_load'].get('VmHWM'))} after {a['sessions']} concurrent sessions "
                "(DuckDB's buffers for the snapshot's Parquet, the query result cache and each session's "
                "state). ")
        if slowest:
            text += f"Slowest pages in one session ({slowest[0]['session']} visits): " + ", ".join(
                f"{v['user']}/{v['page']} {_ms(v['seconds'] * 1000)}" for v in slowest) + ". "
        server = a.get("server_side") or {}
        # The server's first run beside the first visit, its second beside the visit again.
        pairs = [(v["seconds"], (server.get(v["user"], {}).get(v["page"]) or [None, None])[v["session"] == "repeat"])
                 for v in warm if v["page"] != "login" and not v["error"]]
        pairs = [(b, s) for b, s in pairs if isinstance(s, float)]
        if pairs:
            text += (f"The server's own script runs for those visits (AppTest, no browser) add up to "
                     f"{sum(s for _, s in pairs) / sum(b for b, _ in pairs) * 100:.0f} % of the browser's page "
                     "times: the rest is the websocket round trip and chromium building and drawing the page "
                     "(charts above all). ")
        text += (f"The {a['sessions']} sessions ran as {a['sessions']} browser contexts in one chromium on "
                 f"the same {res['machine']['cores']}-core machine as the server, finishing in "
                 f"{_s(a['concurrent_wall'])}.")
        cpu = a.get("concurrent_cpu")
        if cpu and cpu.get("machine_all"):
            visits = len(a["concurrent"])
            text += (f" Meanwhile the machine's cores were {cpu['machine_busy'] / cpu['machine_all'] * 100:.0f} % "
                     f"busy and the app process used {cpu['process']:.0f} CPU-seconds, "
                     f"{cpu['process'] / cpu['machine_busy'] * 100:.0f} % of the busy time; the rest went to "
                     f"chromium rendering {a['sessions']} sessions' pages and to any other work on the "
                     "machine. Streamlit runs every session's script on a thread of one process, so with the "
                     "cores saturated a page time under load is mostly queueing, and scales with sessions per "
                     "core.")
            per_visit = cpu["process"] / visits
            burst = per_visit * a["sessions"] / res["machine"]["cores"]
            text += (f" The app spent {per_visit * 1000:.0f} ms of CPU per visit on average (sign-ins included): "
                     f"with the cores to itself, {a['sessions']} sessions asking for a page at the same moment "
                     f"would keep it busy for about {burst:.1f}–{burst * res['machine']['cores']:.1f} s (all cores "
                     "used, or one if Python's interpreter lock serialised the work)")
            share = cpu["process"] / cpu["machine_busy"] if cpu["machine_busy"] else 1
            text += (", so most of the concurrent page time measured here is the browser load generator "
                     "sharing the cores, not the server." if share < 0.5 else ".")
        if a.get("server_tracebacks"):
            text += f" The server log holds {a['server_tracebacks']} tracebacks."
        out.append(text)
    return out


def document(res: dict, command: str) -> str:
    """The whole of docs/benchmarks.md."""
    cfg, m = res["config"], res["machine"]
    names = {a["code"]: f"{a['name']} ({a['code']})" for a in res.get("authorities", [])}
    parts = [
        "# Benchmarks",
        "",
        f"Generated by `{command}` — do not edit by hand; run it again. Each figure is set beside a "
        "plain baseline doing the least the same job needs, and checked against its target.",
        "",
        "## Machine",
        "",
        machine_lines(m),
        "",
        "## Data",
        "",
        f"- feed: {cfg['students']:,} students from `python -m data.generate` (seed {cfg['seed']}, date "
        f"{cfg['date']}, {'real reference data' if cfg['reference'] else 'built-in default world'})"
        + (f"; generated in {_s(res['feed']['seconds'])}" if res.get("feed", {}).get("seconds") else ""),
    ]
    rows = res.get("feed", {}).get("rows") or {}
    if rows:
        parts.append("- rows: " + ", ".join(f"{t} {n:,}" for t, n in rows.items()))
    for a in res.get("authorities", []):
        parts.append(f"- {a['role']} authority: {a['name']} ({a['code']}), {a['students']:,} students in its census")
    parts += ["", "## Results", "", table(res["figures"]), ""]
    missed = [f for f in res["figures"] if f.met is False]
    parts.append(f"Targets missed: {len(missed)} of {sum(1 for f in res['figures'] if f.met is not None)}"
                 + (" — " + "; ".join(f.name for f in missed) if missed else "") + ".")
    if missed:
        parts += ["", "### Why each missed target is missed", ""]
        parts += [f"- **{f.name}** ({f.value}; target {f.target}): {f.why or 'see below'}." for f in missed]
    if res.get("errors"):
        parts += ["", "**Stages that failed** (their figures are missing):", ""]
        parts += [f"- {stage}: {msg.splitlines()[0] if msg else ''}" for stage, msg in res["errors"].items()]
    parts += ["", "## Where the time goes", ""]
    parts += [p + "\n" for p in analysis(res)]
    if res.get("queries"):
        parts += ["## Page queries in detail", "",
                  "Through `queries.run` with the result cache cleared before each run (DuckDB warm after "
                  "one untimed run), personal details masked; pandas on the same tables already in memory "
                  "(`bench/pandas_baselines.py`). Default page views: no filter, first page of "
                  "100 rows, institution order (the page's default; masked lists cannot be ordered by name).", "", query_table(res["queries"], names), ""]
    if res.get("app"):
        a = res["app"]
        parts += ["## Pages in the browser", "",
                  f"Real browser sessions (Playwright driving Debian's chromium, {a['sessions']} browser contexts "
                  "in one browser for the concurrent run), each signing in through the local OpenID "
                  "provider and clicking every page in the navigation; page time is from the click to the "
                  "end of the script run it starts. One session at a time: "
                  + ", ".join(f"`{sub}` ({label} visits)" for label, sub in a["tours"])
                  + f"; then {a['sessions']} sessions of `{a['tours'][0][1]}` at once. First visits include "
                  "each page's first imports in the server process.", "",
                  page_table(a), ""]
    return "\n".join(parts).rstrip() + "\n"
