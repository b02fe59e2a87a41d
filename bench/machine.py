"""The machine a benchmark ran on, for the report: cores, memory, CPU model, versions, date."""
from __future__ import annotations

import os
import platform
from datetime import date
from pathlib import Path


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def describe() -> dict:
    import duckdb
    import polars
    import streamlit
    return {
        "cores": os.cpu_count() or 0,
        "memory_gb": round(_memory_gb(), 1),
        "cpu": _cpu_model(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "polars": polars.__version__,
        "streamlit": streamlit.__version__,
        "date": date.today().isoformat(),
        "load_at_start": load_average(),
    }


def load_average() -> float:
    """The 1-minute load average: other work on the machine slows every figure, so it is reported."""
    return round(os.getloadavg()[0], 1)
