"""Benchmark: writing report.html and report.pdf for a run folder (issue 17's target: under 5 s warm).

Run on demand (never in tests):  .venv/bin/python benchmarks/bench_report.py [RUN_DIR] [--repeat N]
(default: runs configs/column.yaml once into a temporary folder, event study included, then times)

Prints, for the best of three warm rounds in one process: building the report model, the HTML and
the PDF (wall and CPU seconds, CPU being what a busy machine cannot inflate) and the size of each file;
then `rulebook report RUN_DIR` as a fresh process (imports included: what a user waits for), the median
of --repeat runs for both formats and for each alone, and the top lines of a profile of one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_user import CLI, measure, profile_top  # noqa: E402

from engine.report.html import write_html  # noqa: E402
from engine.report.contents import build_report  # noqa: E402
from engine.report.pdf import write_pdf  # noqa: E402

ROUNDS = 3


def _timed(step) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    value = step()
    return time.perf_counter() - wall, time.process_time() - cpu, value


def column_run(folder: Path) -> Path:
    run = folder / "column"
    subprocess.run([*CLI, "run", str(ROOT / "configs" / "column.yaml"),
                    "--out", str(run), "--no-report"], check=True, cwd=ROOT, capture_output=True)
    return run


def main(run_dir: Path, repeat: int) -> None:
    best: dict[str, tuple[float, float]] = {}
    for _ in range(ROUNDS):
        timings = {}
        timings["model"] = _timed(lambda: build_report(run_dir))
        report = timings["model"][2]
        timings["html"] = _timed(lambda: write_html(report, run_dir / "report.html"))
        timings["pdf"] = _timed(lambda: write_pdf(report, run_dir / "report.pdf"))
        for step, (wall, cpu, _) in timings.items():
            best[step] = min(best.get(step, (wall, cpu)), (wall, cpu))
    print(f"in one process (best of {ROUNDS}), load average {os.getloadavg()[0]:.1f}:")
    for step, (wall, cpu) in best.items():
        print(f"  {step:6s} {wall:6.2f} s wall  {cpu:6.2f} s CPU")
    print(f"  total  {sum(w for w, _ in best.values()):6.2f} s wall  {sum(c for _, c in best.values()):6.2f} s CPU")
    for name in ("report.html", "report.pdf"):
        print(f"  {name}: {(run_dir / name).stat().st_size / 1e6:.2f} MB")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    measure(CLI + ["report", str(run_dir)], env, ROOT)  # untimed: the user's cache holds the sessions and plotly.js
    print(f"`rulebook report RUN_DIR` as a fresh process, median of {repeat}:")
    for formats in ("html,pdf", "html", "pdf"):
        runs = [measure(CLI + ["report", str(run_dir), "--format", formats], env, ROOT) for _ in range(repeat)]
        print(f"  --format {formats:8s} {statistics.median(r[0] for r in runs):6.2f} s wall "
              f"{statistics.median(r[1] for r in runs):6.2f} s CPU  peak {max(r[2] for r in runs):.2f} GB "
              f"(CPU runs: {', '.join(f'{r[1]:.2f}' for r in runs)})")
    print(profile_top(["report", str(run_dir)], env, ROOT, lines=12))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?", type=Path, help="a run folder (default: a fresh column run)")
    parser.add_argument("--repeat", type=int, default=5, help="fresh-process runs per row (the median is printed)")
    args = parser.parse_args()
    if args.run_dir is not None:
        main(args.run_dir, args.repeat)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(column_run(Path(tmp)), args.repeat)
