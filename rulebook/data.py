"""Bring data in (`rulebook data ...`, `rulebook sample`): the dataset-folder writers and checker.

Every writer validates before it writes and replaces files atomically; see data/README.md for
the folder layout a backtest reads.
"""

from __future__ import annotations

from pathlib import Path

from engine.data.check import check_dataset
from engine.data.edgar import import_companyfacts
from engine.data.events_import import import_events
from engine.data.fundamentals_import import FundamentalsOptions, import_fundamentals
from engine.data.importers import ImportSources, import_prices
from engine.data.market_import import MarketOptions, import_market
from engine.data.price_files import ReadOptions, parse_mapping
from engine.data.yf_pull import pull_yfinance

__all__ = ["FundamentalsOptions", "ImportSources", "MarketOptions", "ReadOptions", "check_dataset",
           "import_companyfacts", "import_events", "import_fundamentals", "import_market", "import_prices",
           "make_sample", "parse_mapping", "pull_yfinance"]


def make_sample(folder: Path | str | None = None, *, seed: int | None = None) -> Path:
    """Write the SYNTHETIC sample dataset into ``folder`` (default the bundled data/sample) and
    return it; ``seed`` defaults to the documented one."""
    from engine.config.run_config import SAMPLE_DATA_DIR
    from engine.data.sample import generate_sample

    target = Path(folder) if folder is not None else SAMPLE_DATA_DIR
    generate_sample(target, **({"seed": seed} if seed is not None else {}))
    return target
