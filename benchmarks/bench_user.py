"""What a user waits for: every row of issue 18's table, measured as processes, plus the same job on peers.

    python benchmarks/bench_user.py                 # every row, medians of 3 runs (about an hour on 2 cores)
    python benchmarks/bench_user.py --repeat 1 --rows run,scale,compare
    python benchmarks/bench_user.py --rows peers    # only the side-by-side with vectorbt, bt and backtrader

Each row runs the real command in a new Python process (``rulebook ...``), so imports, numba's cache and
data loading count as they do for a user. "cold" runs use an empty kernel cache folder (RULEBOOK_CACHE_DIR),
as after a fresh install; "warm" runs use the user's own cache folder after one untimed run of each
kind (a single run, a sweep) has filled it. Times are wall-clock medians of --repeat runs (the machine
is shared: the spread is printed) beside the CPU time the process used (user + system, all threads:
what the run costs on an idle machine with one core, and far less noisy than wall time when others
share the cores); memory is the process's peak resident set. After each row, the top
lines of a cProfile of one more run show where the time went, so a regression is visible.

The side-by-side runs one equal-weight job (month-end decisions, next-open fills at total-return prices,
no fees) on rulebook, vectorbt (``Portfolio.from_orders``, and broadcast over N copies), bt and backtrader,
and prints each engine's final value and its difference to rulebook's.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_variants import variant_config  # noqa: E402
from synthetic_universe import column_config, write_universe  # noqa: E402

CLI = [sys.executable, "-c", "import sys; from engine.cli.main import app; sys.argv[0] = 'rulebook'; app()"]
PROFILED = ("import cProfile, pstats, sys; from engine.cli.main import app\n"
            "lines, sys.argv = int(sys.argv[1]), ['rulebook'] + sys.argv[2:]\n"
            "profile = cProfile.Profile(); profile.enable()\n"
            "try:\n    app()\nexcept SystemExit:\n    pass\n"
            "profile.disable(); stats = pstats.Stats(profile, stream=sys.stderr)\n"
            "stats.sort_stats('cumulative').print_stats(r'(engine|strategies)/', lines)\n")
ROWS = ("help", "run", "scale", "compare", "hedged", "large", "dask", "peers")


def measure(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak resident GB) of one process; a failure stops the benchmark with its
    output. CPU time (user + system, all threads) is what the run costs when others share the cores."""
    began = time.perf_counter()
    process = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - began
    out, err = process.stdout.read(), process.stderr.read()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.exit(f"failed: {' '.join(args[3:])}\n{out[-2000:]}\n{err[-2000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1e6  # Linux reports KB


def profile_top(command: list[str], env: dict[str, str], cwd: Path, lines: int = 8) -> str:
    """The top ``lines`` project functions by cumulative time of one run of ``command``."""
    done = subprocess.run([sys.executable, "-c", PROFILED, str(lines), *command], env=env, cwd=cwd,
                          capture_output=True, text=True)
    rows = [line for line in done.stderr.splitlines() if "/engine/" in line or "/strategies/" in line]
    return "\n".join("      " + line.strip()[:150] for line in rows[:lines])


class Bench:
    def __init__(self, repeat: int, folder: Path, profile: bool):
        from engine.user_cache import cache_dir

        self.repeat, self.folder, self.profile = repeat, folder, profile
        self.warm_cache = cache_dir()  # the user's own cache: warm rows run as a user's second run does
        self.outputs, self.warmed = 0, False

    def warm_up(self) -> None:
        """Compile (or load) the single-run and the sweep kernels once, untimed, before the first warm row."""
        if not self.warmed:
            column = str(ROOT / "configs" / "column.yaml")
            measure(CLI + ["run", column, "--no-report", "--out", self.out()], self.env(), ROOT)
            measure(CLI + ["compare", str(sweep_config(self.folder, 4, hedged=False)), "--no-report", "--out",
                           self.out()], self.env(), ROOT)
            self.warmed = True

    def env(self, cache: Path | None = None) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(ROOT), "RULEBOOK_CACHE_DIR": str(cache or self.warm_cache)}

    def out(self) -> str:
        self.outputs += 1
        return str(self.folder / f"out{self.outputs}")

    def row(self, label: str, command: list[str], *, cold: bool = False, with_out: bool = True) -> float:
        if not cold:
            self.warm_up()
        times, cpu, memory = [], [], []
        for _ in range(self.repeat):
            cache = self.folder / f"cold-cache-{self.outputs}" if cold else None
            args = command + (["--out", self.out()] if with_out else [])
            seconds, cpu_seconds, gigabytes = measure(CLI + args, self.env(cache), ROOT)
            times.append(seconds)
            cpu.append(cpu_seconds)
            memory.append(gigabytes)
        spread = f" (runs: {', '.join(f'{t:.1f}' for t in times)})" if len(times) > 1 else ""
        print(f"{label:<66} {statistics.median(times):7.1f} s wall {statistics.median(cpu):7.1f} s CPU   "
              f"peak {max(memory):5.2f} GB{spread}", flush=True)
        if self.profile and not cold:
            print(profile_top(command + (["--out", self.out()] if with_out else []), self.env(), ROOT), flush=True)
        return statistics.median(times)


def sweep_config(folder: Path, n_variants: int, *, hedged: bool) -> Path:
    """configs/column.yaml with about n_variants grid variants (benchmarks/bench_variants.py), hedge on or off."""
    path = variant_config(n_variants, folder)
    raw = yaml.safe_load(path.read_text())
    grid = raw["variants"]["grid"]  # 5 name caps x 4 tranche counts x n/20 trailing stops, all below 1
    stops = max(1, n_variants // (len(grid["rules.caps.name"]) * len(grid["rules.staged_entry.tranches"])))
    grid["rules.profit_taking.trailing_stop"] = [round(0.05 + 0.55 * k / max(1, stops - 1), 5) for k in range(stops)]
    if hedged:
        raw["hedges"] = yaml.safe_load((ROOT / "configs" / "column.yaml").read_text())["hedges"]
    named = folder / f"sweep-{n_variants}{'-hedged' if hedged else ''}.yaml"
    named.write_text(yaml.safe_dump(raw))
    return named


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per row (the median is printed)")
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated subset of {','.join(ROWS)}")
    parser.add_argument("--no-profile", action="store_true", help="skip the profile lines after each row")
    args = parser.parse_args()
    rows = set(args.rows.split(","))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {platform.system()} {platform.release()}, "
          f"load average {os.getloadavg()[0]:.1f} at the start")
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(args.repeat, Path(tmp), not args.no_profile)
        column = str(ROOT / "configs" / "column.yaml")
        if "help" in rows:
            bench.row("rulebook --help", ["--help"], with_out=False)
            bench.row("rulebook validate configs/column.yaml", ["validate", column], with_out=False)
        if "run" in rows:
            bench.row("first rulebook run configs/column.yaml (cold cache, --no-report)", ["run", column, "--no-report"],
                      cold=True)
            bench.row("rulebook run configs/column.yaml (warm, event study, HTML + PDF)", ["run", column])
            bench.row("rulebook run configs/column.yaml (warm, --no-report)", ["run", column, "--no-report"])
        if "scale" in rows:
            for names, years in ((10, 10), (100, 10), (300, 10), (500, 20)):  # 10: the fixed cost of a run
                data = write_universe(Path(tmp) / f"u{names}x{years}", names, years)
                config = column_config(data, Path(tmp), names, years)
                bench.row(f"one run over {names} names x {years} y (column rules + hedge, --no-report)",
                          ["run", str(config), "--no-report"])
        if "compare" in rows:
            bench.row("rulebook compare, 1,000 column variants, hedges off, --no-report",
                      ["compare", str(sweep_config(Path(tmp), 1000, hedged=False)), "--no-report"])
        if "hedged" in rows:
            bench.row("rulebook compare, 1,000 column variants, SPY put hedge on, --no-report",
                      ["compare", str(sweep_config(Path(tmp), 1000, hedged=True)), "--no-report"])
        if "large" in rows:
            for n in (5000, 10000):
                bench.row(f"rulebook compare, {n:,} column variants, --no-report",
                          ["compare", str(sweep_config(Path(tmp), n, hedged=False)), "--no-report"])
        if "dask" in rows:
            config = str(sweep_config(Path(tmp), 1000, hedged=False))
            bench.row("rulebook compare, 1,000 variants, --executor dask (local cluster, 1 worker thread)",
                      ["compare", config, "--no-report", "--executor", "dask"])
        if "peers" in rows:
            from peers import side_by_side

            side_by_side(ROOT, repeat=args.repeat)


if __name__ == "__main__":
    main()
