"""Run one measured function in a fresh process and report its wall time and peak memory.

    python -m bench.child MODULE:FUNCTION KWARGS_JSON OUT_JSON [PRELOAD_MODULE ...]

The function's wall time is measured around the call only, after its module and the PRELOAD modules
are imported (so neither interpreter start-up nor first imports count); peak memory is
the process's own high-water mark (ru_maxrss), plus any children it waited for. A fresh process per
measurement keeps one run's caches and memory from flattering the next.
"""
from __future__ import annotations

import importlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from common.config import REPO_ROOT


class ChildFailed(RuntimeError):
    pass


def peak_rss_mb() -> float:
    """This process's peak resident memory, or its waited-for children's if higher (KiB on Linux)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


def run(target: str, kwargs: dict, env: dict | None = None, preload: tuple[str, ...] = (),
        timeout: float | None = None, echo=None) -> dict:
    """Run MODULE:FUNCTION(**kwargs) in a child process; returns {"seconds", "peak_rss_mb", "result"}.

    The child's output is passed line by line to `echo` (progress), and its tail shown if it fails."""
    with tempfile.TemporaryDirectory(prefix="bench-child-") as tmp:
        out = Path(tmp) / "out.json"
        cmd = [sys.executable, "-m", "bench.child", target, json.dumps(kwargs), str(out), *preload]
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env={**os.environ, **(env or {})}, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        tail: list[str] = []
        for line in proc.stdout:
            tail = (tail + [line])[-60:]
            if echo is not None:
                echo(line.rstrip("\n"))
        code = proc.wait(timeout=timeout)
        if code != 0 or not out.exists():
            raise ChildFailed(f"{target} failed (exit {code}):\n{''.join(tail)}")
        return json.loads(out.read_text(encoding="utf-8"))


def main(argv: list[str]) -> int:
    target, kwargs_json, out, *preload = argv
    for name in preload:
        importlib.import_module(name)
    module_name, func_name = target.split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    kwargs = json.loads(kwargs_json)
    try:
        start = time.perf_counter()
        result = func(**kwargs)
        seconds = time.perf_counter() - start
    except Exception:
        traceback.print_exc()
        return 1
    Path(out).write_text(json.dumps({"seconds": seconds, "peak_rss_mb": peak_rss_mb(), "result": result},
                                    ensure_ascii=False, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
