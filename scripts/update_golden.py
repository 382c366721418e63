"""Rewrite the golden runs (tests/golden/*.json) from the code as it is now.

Run it after a change that is meant to move the results of configs/column.yaml or
configs/minimal.yaml, and say so in the commit message; it prints what moved.
``--only column,minimal`` limits it to some cases; the case on ../shared/data runs
when that folder exists (RULEBOOK_SHARED_DATA points elsewhere).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from golden_runs import cases, differences, golden_path  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated cases (default: all)")
    args = parser.parse_args(argv)
    shared = Path(os.environ.get("RULEBOOK_SHARED_DATA", ROOT.parent / "shared" / "data"))
    found = cases(shared)
    wanted = args.only.split(",") if args.only else list(found)
    unknown = sorted(set(wanted) - set(found))
    if unknown:
        print(f"update_golden: unknown case(s) {unknown}; fix: use some of {sorted(found)}", file=sys.stderr)
        return 2
    for case in wanted:
        now = found[case]()
        path = golden_path(case)
        moved = differences(json.loads(path.read_text()), now) if path.exists() else ["new golden file"]
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(now, indent=2, sort_keys=True) + "\n")
        tmp.replace(path)
        print(f"{path.relative_to(ROOT)}: " + ("unchanged" if not moved else f"{len(moved)} change(s)"))
        for line in moved:
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
