"""Write a synthetic national roster feed: the seven CSV files of the roster spec.

    python -m data.generate --out DIR [--reference DIR] [--students N] [--date YYYY-MM-DD] [--seed N]

Without --reference the small built-in world is used (tests, CI); with it, the real public reference
data (localities, authorities, schools, streets, name frequencies). People are always synthetic.
The same arguments give the same bytes. Details and the planted data problems: docs/generator.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from data.generator_feed import build_feed

PREFIXES = ("TALMIDIM", "GORMEY_KESHER", "PIRTEY_KESHER", "MOSDOT", "KITOT", "MEGAMOT", "RASHUYOT")


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m data.generate", description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, type=Path, help="folder to write the seven files into")
    p.add_argument("--reference", type=Path, default=None,
                   help="folder of the real reference data (e.g. ../shared/data/reference)")
    p.add_argument("--students", type=int, default=3000, help="number of students (default 3000)")
    p.add_argument("--date", type=dt.date.fromisoformat, default=None,
                   help="feed date YYYY-MM-DD (default today); sets SHNAT_LIMUDIM and the file names")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    return p.parse_args(argv)


def clear_feed(out: Path) -> None:
    """Remove earlier feed files from the folder: the spec wants exactly one file per prefix."""
    out.mkdir(parents=True, exist_ok=True)
    for prefix in PREFIXES:
        for old in out.glob(f"{prefix}_*.csv"):
            if old.name[len(prefix) + 1:len(prefix) + 2].isdigit():   # not a longer prefix's file
                old.unlink()


def write_table(df, out: Path, prefix: str, date: dt.date) -> None:
    """<PREFIX>_<date>.csv: UTF-8 without BOM, RFC 4180 quoting, header row, empty = missing."""
    df.write_csv(out / f"{prefix}_{date.isoformat()}.csv", include_header=True, quote_style="necessary",
                 null_value="")


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    if args.students < 1:
        print("generate: --students must be at least 1", file=sys.stderr)
        return 2
    date = args.date or dt.date.today()
    started = time.monotonic()
    if args.reference is not None:
        if not args.reference.is_dir():
            print(f"generate: reference folder {args.reference} does not exist", file=sys.stderr)
            return 2
        from data.generator_reference import build as build_world
        world = build_world(args.reference)
    else:
        from data.generator_builtin import build as build_world
        world = build_world()
    clear_feed(args.out)
    rows: dict[str, int] = {}

    def emit(prefix, df) -> None:
        write_table(df, args.out, prefix, date)
        rows[prefix] = df.height

    result = build_feed(world, args.students, date, args.seed, emit=emit)

    s = result.stats
    print(f"feed {date.isoformat()} (SHNAT_LIMUDIM {s['school_year']}) written to {args.out} "
          f"in {time.monotonic() - started:.1f}s")
    for prefix in PREFIXES:
        print(f"  {prefix:<14} {rows[prefix]:>10,} rows")
    print(f"  authorities {s['authorities']}, localities {s['localities']}, institutions {s['institutions']}, "
          f"families {s['families']:,}")
    print(f"  planted: {s['unplaced_residents']:,} unplaced residents, {s['cross_authority_students']:,} students "
          f"placed outside their authority, {s['students_with_history']:,} with history, "
          f"{s['classes_over_max']:,} classes over max, {s['tracks_over_quota']:,} tracks over quota")
    for note in world.notes:
        print(f"  note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
