"""A fabricated run folder for report tests: the files `rulebook run` writes (metrics from
engine.analysis.metrics on the fabricated curves) and, with ``full``, the files other features add."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from engine.data.calendar import get_sessions, sessions_per_year
from engine.analysis.metrics import compute_metrics

SYMBOLS = ["NVDA", "AMD", "MSFT", "GOOGL", "VRT", "CEG", "EQIX"]
GROUPS = {"semis": ["NVDA", "AMD"], "hyperscalers": ["MSFT", "GOOGL"], "power": ["VRT", "CEG"]}  # EQIX: other
KINDS = ("deal", "regulatory")
CASH_SESSIONS = 20  # closes without a position before the first invested one


def write_run_folder(path: Path, *, full: bool = True, synthetic: bool = True, page_size: str = "A4",
                     seed: int = 7) -> Path:
    rng = np.random.default_rng(seed)
    path.mkdir(parents=True)
    sessions = get_sessions("2019-01-02", "2021-12-31")
    returns = rng.normal(6e-4, 0.013, len(sessions))
    returns[:CASH_SESSIONS + 1] = 0.0  # in cash at the first closes, like a selection warming up
    equity = pd.Series(1e6 * np.cumprod(1 + returns), index=sessions)
    benchmark = pd.Series(1e6 * np.cumprod(1 + rng.normal(3e-4, 0.01, len(sessions))), index=sessions)
    equity.iloc[0] = benchmark.iloc[0] = 1e6
    raw = rng.uniform(0.5, 1.5, (len(sessions), len(SYMBOLS)))
    weights = pd.DataFrame(0.95 * raw / raw.sum(axis=1, keepdims=True), index=sessions, columns=SYMBOLS)
    weights.iloc[:CASH_SESSIONS] = 0.0
    trades = pd.DataFrame({
        "session": sessions[1:41], "decided": sessions[:40], "symbol": rng.choice(SYMBOLS, 40),
        "side": rng.choice(["buy", "sell"], 40), "shares": rng.uniform(10, 500, 40),
        "price": rng.uniform(20, 300, 40)})
    trades["notional"] = trades["shares"] * trades["price"]
    trades["fees"] = trades["notional"] * 5e-4
    metrics = compute_metrics(equity, periods_per_year=sessions_per_year("XNYS", sessions[0], sessions[-1]),
                              benchmark_equity=benchmark, traded_notional=trades["notional"],
                              weights=weights)
    config = {"name": "fabricated", "description": "Fabricated run for report tests.",
              "data": {"dir": None, "calendar": "XNYS"}, "universe": {"symbols": SYMBOLS, "groups": GROUPS},
              "strategy": {"kind": "equal_weight", "rebalance": "monthly"}, "benchmark": "SPY", "risk_free": 0.0,
              "report": {"enabled": True, "formats": ["html", "pdf"], "page_size": page_size, "log_scale": False}}
    manifest = {"run": "fabricated", "created_utc": "2025-12-31T12:00:00+00:00", "command": ["rulebook", "run"],
                "start": "2019-01-02", "end": "2021-12-31", "sessions": len(sessions),
                "data": {"dir": "/data", "synthetic": synthetic, "files": [], "fingerprint": "ab" * 32,
                         "gaps_filled": []},
                "wall_seconds": 1.5, "python": "3.11", "packages": {"pandas": pd.__version__}}
    (path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (path / "manifest.json").write_text(json.dumps(manifest))
    (path / "metrics.json").write_text(json.dumps(metrics))
    pd.DataFrame({"equity": equity, "cash": 0.05 * equity, "benchmark": benchmark}).rename_axis("date") \
        .reset_index().to_parquet(path / "equity.parquet")
    weights.rename_axis("date").reset_index().to_parquet(path / "weights.parquet")
    trades.to_parquet(path / "trades.parquet")
    if full:
        _rules(rng, sessions).to_parquet(path / "rules.parquet")
        for name, frame in _event_files(rng, sessions).items():
            frame.to_parquet(path / f"{name}.parquet")
        _hedges(sessions).to_parquet(path / "hedges.parquet")
        variants = _variants(rng)
        variants.to_parquet(path / "variants.parquet")
        curves = {name: equity * (1 + 0.1 * i * np.linspace(0, 1, len(sessions)))
                  for i, name in enumerate(["base", *variants["variant"]])}
        pd.DataFrame(curves).rename_axis("date").reset_index().to_parquet(path / "variant_equity.parquet")
        (path / "statistics.json").write_text(json.dumps({"pbo": 0.35, "summary": ["fabricated"]}))
    return path


def _rules(rng, sessions) -> pd.DataFrame:
    rows = []
    acts = ([("caps", "group semis 35%")] * 12 + [("screen", "coverage 3.1x < 4.0x")] * 6
            + [("profit_taking", "stage 1 (gain +27% over average cost)")] * 4
            + [("profit_taking", "target capped at the 66.7% of the position left after 1 stage(s)")] * 2
            + [("staged_entry", "tranche 1 of 3")] * 3)
    for i, (rule, reason) in enumerate(acts):
        before = float(rng.uniform(0.1, 0.2))
        after = 0.0 if rule == "screen" else before * 0.6
        rows.append({"session": sessions[20 * i + 5], "symbol": SYMBOLS[i % 3], "rule": rule, "before": before,
                     "after": after, "reason": f"{reason}: {before:.1%} → {after:.1%}"})
    return pd.DataFrame(rows)


def _event_files(rng, sessions) -> dict[str, pd.DataFrame]:
    """Small tables with the columns engine.cli.events writes."""
    events = []
    books = []
    for event_id in range(6):
        day = sessions[100 + 90 * event_id]
        kind = KINDS[event_id % 2]
        base = {"event_id": event_id, "date": day, "session": "post", "session_date": day, "kind": kind,
                "title": f"event {event_id}"}
        for symbol in ("NVDA", "MSFT"):
            events.append(base | {"symbol": symbol, "role": "involved", "group": "semis",
                                  "day0_return": rng.normal(0, .03), "cum_return": rng.normal(0, .08),
                                  "drawdown": -rng.uniform(0, .2), "trough_date": day,
                                  "sessions_to_recover": pd.NA, "car": rng.normal(0, .05)})
        for book in ("strategy", "holding", "benchmark"):
            books.append(base | {"book": book, "cum_return": rng.normal(0, .05), "drawdown": -rng.uniform(0, .15)})
    events = pd.DataFrame(events).astype({"sessions_to_recover": "Int64"})
    summary = []
    for kind in KINDS:
        for metric in ("car", "day0_return", "drawdown"):
            summary.append({"subject": "symbols", "by": "kind", "key": kind, "metric": metric, "n": 6,
                            "n_events": 3, "mean": rng.normal(0, .05), "t_stat_clustered": rng.normal(),
                            "ci_lower_clustered": -0.1, "ci_upper_clustered": 0.1})
    offsets = np.arange(-10, 21)
    car = pd.concat([pd.DataFrame({"subject": "symbols", "by": by, "key": key, "measure": "car", "offset": offsets,
                                   "n": 6, "mean": np.linspace(0, .03, len(offsets)),
                                   "lower": np.linspace(0, .03, len(offsets)) - .02,
                                   "upper": np.linspace(0, .03, len(offsets)) + .02})
                     for by, key in (("all", "all"), ("kind", "deal"), ("kind", "regulatory"))], ignore_index=True)
    return {"events": events, "event_summary": pd.DataFrame(summary), "event_car": car,
            "event_strategy": pd.DataFrame(books)}


def _hedges(sessions) -> pd.DataFrame:
    """One put leg (engine.hedges.book columns): bought for 5,000 plus 50 fees, settles for 2,000 at expiry."""
    flows = pd.DataFrame({"premium": 0.0, "fees": 0.0, "settlement": 0.0}, index=range(60))
    flows.loc[0, ["premium", "fees"]] = [-5000.0, -50.0]
    flows.loc[59, "settlement"] = 2000.0
    return flows.assign(date=sessions[:60], hedge="spy_put", leg=0, value=np.r_[np.linspace(5000, 100, 59), 0.0],
                        delta=-0.3, cash_flow=flows.sum(axis=1))


def _variants(rng) -> pd.DataFrame:
    caps, stages = np.meshgrid([0.06, 0.08, 0.10], [0.2, 0.3])
    n = caps.size
    return pd.DataFrame({"variant": [f"v{i}" for i in range(n)], "cap": caps.ravel(), "stage": stages.ravel(),
                         "sharpe": rng.normal(1, .2, n), "cagr": rng.normal(.1, .02, n),
                         "max_drawdown": -rng.uniform(.1, .3, n), "beats_base": [True] + [False] * (n - 1),
                         "dsr": rng.uniform(0, 1, n), "verdict": "lucky"})
