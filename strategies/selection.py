"""Selection: which names may be held at all on a session (before weighting).

Reads ``close`` and ``volume`` (as traded) for rows <= t. A name is eligible at t
when it has a close at t, at least ``min_history`` closes up to and including t,
and a trailing average dollar volume (close x volume over the last
``dollar_volume_window`` sessions, unpriced sessions skipped) of at least
``min_dollar_volume``. Sets a bool eligibility frame; reasons name every failed test.

Also builds named groups from ``symbols.parquet`` (theme or sector) for configs
that list none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from engine.data.dataset import Dataset
from engine.errors import DataError
from engine.strict import StrictModel
from strategies.reasons import cell_text, join_reasons, money
from strategies.rule_types import Rule, RuleContext, RuleOutput

GroupBy = Literal["theme", "sector"]


class SelectionConfig(StrictModel):
    min_history: int = Field(0, ge=0, description="sessions with a close, up to and including t, a name needs "
                             "before it can be held (e.g. 63 = about three months after listing)")
    min_dollar_volume: float = Field(0.0, ge=0, description="floor on the trailing average daily dollar volume "
                                     "(close x volume, as traded), USD")
    dollar_volume_window: int = Field(20, ge=1, description="sessions in the dollar-volume average")
    group_by: GroupBy | None = Field(None, description="build named groups from symbols.parquet's theme or "
                                     "sector column when universe.groups is empty; null = no groups")

    def build(self) -> "Selection":
        return Selection.from_config(self)


@dataclass(frozen=True)
class Selection:
    min_history: int = 0
    min_dollar_volume: float = 0.0
    dollar_volume_window: int = 20

    @classmethod
    def from_config(cls, cfg: SelectionConfig) -> "Selection":
        return cls(cfg.min_history, cfg.min_dollar_volume, cfg.dollar_volume_window)

    def apply(self, ctx: RuleContext) -> RuleOutput:
        close = ctx.data.close[ctx.symbols]
        priced = close.notna()
        history = priced.cumsum()
        dollar_volume = (close * ctx.data.volume[ctx.symbols]).rolling(
            self.dollar_volume_window, min_periods=1).mean()
        short_history = history < self.min_history
        illiquid = dollar_volume.fillna(0.0) < self.min_dollar_volume
        eligible = priced & ~short_history & ~illiquid
        reasons = join_reasons(
            cell_text(~priced, lambda: "no close today"),
            cell_text(priced & short_history, lambda n: f"history {n} < {self.min_history} sessions", history),
            cell_text(priced & illiquid, lambda v: f"avg $ volume {money(v)} < {money(self.min_dollar_volume)}",
                      dollar_volume.fillna(0.0)),
        )
        return RuleOutput(eligible, reasons)


RULES = (Rule("selection", "selection", SelectionConfig, "minimum history and liquidity",
              {"min_history": 21, "min_dollar_volume": 1e6}),)


def groups_from_data(data: Dataset, by: GroupBy, symbols: list[str] | None = None) -> dict[str, list[str]]:
    """Named groups {theme or sector: [symbols]} from ``symbols.parquet``, limited to ``symbols``.

    Groups keep the order of ``symbols`` (default: the dataset's); a name with no
    value in the column belongs to no group.
    """
    meta = data.symbols_meta
    if meta.empty or by not in meta.columns:
        raise DataError("symbols.parquet", by, f"no '{by}' column to build groups from",
                        f"add symbols.parquet with a '{by}' column, or list universe.groups in the config")
    labels = meta[by].reindex(symbols if symbols is not None else data.symbols).dropna()
    labels = labels[labels.astype(str) != ""]
    return {str(name): list(members.index) for name, members in labels.groupby(labels, sort=False)}
