"""A package is complete or absent: a builder killed in the middle of writing leaves nothing that a
reader (the export page, the vault, the packages table) would take for a package, and the next
builder starts the half-done work again."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from common.config import REPO_ROOT, settings
from data import packages
from data.approvals import approve

DATE = "2026-12-01"

# The real builder in its own process, killed (SIGKILL: no clean-up runs) once the third CSV file of
# the first authority is being written (the earlier ones are already in its temporary zips).
KILLER = textwrap.dedent("""
    import os, signal
    from data import export, packages
    original, written = export.copy_csv, []
    def copy_csv(*args):
        written.append(args)
        if len(written) == 6:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(*args)
    export.copy_csv = copy_csv
    packages.build_queued("2026-12-01")
""")


def visible_files(root: Path) -> list[Path]:
    """Files a reader could take for a package: none of their path's parts is hidden."""
    return sorted(p for p in root.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts))


def test_a_kill_during_the_build_leaves_no_package_visible_and_the_next_build_completes(export_records):
    approve(DATE, by="admin@education.gov.il")
    packages.queue(DATE, ["5000", "10026"])
    killed = subprocess.run([sys.executable, "-c", KILLER], cwd=REPO_ROOT, env={**os.environ},
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    root = settings().packages_dir / DATE
    assert list(root.rglob(".*.tmp")), "the builder was killed while writing (its temporaries are there)"
    assert visible_files(root) == []
    assert not [p for p in packages.packages_of_snapshot(DATE) if p.ready]
    assert not packages.builder_running(DATE)          # the kernel released the dead builder's lock

    result = packages.build_queued(DATE)
    assert result == {"queued": 0, "building": 0, "ready": 6, "failed": 0}
    assert not list(root.rglob(".*.tmp"))
    assert [p.relative_to(root).as_posix() for p in visible_files(root)] == [
        "10026/MIFKAD_10026_2026-12-01.zip", "10026/people/MIFKAD_10026_2026-12-01.xlsx",
        "10026/people/MIFKAD_10026_2026-12-01.zip", "5000/MIFKAD_5000_2026-12-01.zip",
        "5000/people/MIFKAD_5000_2026-12-01.xlsx", "5000/people/MIFKAD_5000_2026-12-01.zip"]


def test_a_failed_write_removes_its_temporary_file(tmp_path):
    from data.export import atomic_file
    target = tmp_path / "package.zip"
    try:
        with atomic_file(target) as f:
            f.write(b"half a package")
            raise OSError("disk full")
    except OSError:
        pass
    assert not target.exists() and list(tmp_path.iterdir()) == []
