"""Benchmark: writing report.html and report.pdf for a run folder (issue 17's target: under 5 s warm).

Run on demand (never in tests):  .venv/bin/python benchmarks/bench_report.py [RUN_DIR]
(default: runs configs/column.yaml once into a temporary folder, event study included, then times)

Prints, for the best of three warm rounds in one process: building the report model, the HTML and
the PDF (wall and CPU seconds, CPU being what a busy machine cannot inflate), the size of each
file, and the wall time of `rulebook report RUN_DIR` as a fresh process (imports included).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.report.html import write_html  # noqa: E402
from engine.report.contents import build_report  # noqa: E402
from engine.report.pdf import write_pdf  # noqa: E402

ROUNDS = 3
CLI = (sys.executable, "-c", "from engine.cli.main import app; app()")


def _timed(step) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    value = step()
    return time.perf_counter() - wall, time.process_time() - cpu, value


def column_run(folder: Path) -> Path:
    run = folder / "column"
    subprocess.run([*CLI, "run", str(ROOT / "configs" / "column.yaml"),
                    "--out", str(run), "--no-report"], check=True, cwd=ROOT, capture_output=True)
    return run


def main(run_dir: Path) -> None:
    best: dict[str, tuple[float, float]] = {}
    for _ in range(ROUNDS):
        timings = {}
        timings["model"] = _timed(lambda: build_report(run_dir))
        report = timings["model"][2]
        timings["html"] = _timed(lambda: write_html(report, run_dir / "report.html"))
        timings["pdf"] = _timed(lambda: write_pdf(report, run_dir / "report.pdf"))
        for step, (wall, cpu, _) in timings.items():
            best[step] = min(best.get(step, (wall, cpu)), (wall, cpu))
    for step, (wall, cpu) in best.items():
        print(f"{step:6s} {wall:6.2f} s wall  {cpu:6.2f} s CPU")
    print(f"total  {sum(w for w, _ in best.values()):6.2f} s wall  {sum(c for _, c in best.values()):6.2f} s CPU")
    for name in ("report.html", "report.pdf"):
        print(f"{name}: {(run_dir / name).stat().st_size / 1e6:.2f} MB")
    wall = time.perf_counter()
    subprocess.run([*CLI, "report", str(run_dir)], check=True, cwd=ROOT,
                   capture_output=True)
    print(f"`rulebook report` as a fresh process: {time.perf_counter() - wall:.2f} s wall (imports included)")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(column_run(Path(tmp)))
