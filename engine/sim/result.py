"""One simulated book: the kernel's raw arrays, and the tables built from them on first use.

A sweep of a thousand variants reads only the equity, the weights and the traded notional
of each book; a single run reads everything. Building every table eagerly cost more than
simulating the book, so each view is a cached property.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from engine.sim import rule_layout
from engine.sim.orders import FLOAT_NOISE_WEIGHT

if TYPE_CHECKING:
    import vectorbt as vbt

ORDER_COLUMNS = ["session", "decided", "symbol", "side", "shares", "price", "notional", "fees"]
KERNEL_LOG_COLUMNS = ["session", "symbol", "rule", "before", "after", "reason"]


@dataclass(frozen=True)
class SimResult:
    """Everything a run folder and the metrics need about one simulated book."""

    equity: pd.Series  # portfolio value at each session close
    marks: pd.DataFrame  # the price each holding is marked at, each close (sessions x symbols)
    init_cash: float
    order_records: np.ndarray  # the fills as vectorbt order records (col = position in ``marks``' columns)
    cash_values: np.ndarray  # cash at each close
    held_values: np.ndarray  # shares held at each close (sessions x symbols)
    log_records: np.ndarray  # engine.sim.rule_layout.LOG_FIELDS rows (col = position in ``marks``' columns)
    group_names: tuple[str, ...] = ()  # capped groups, for the kernel log's reasons
    buy_scale: np.ndarray | None = None  # per session, the factor all buys were cut by for lack of cash (1 = none)
    rule_state: np.ndarray | None = None  # the stateful rules' per-name state after the last session (rule_layout)
    layout: rule_layout.KernelLayout | None = None  # decodes the kernel log

    @cached_property
    def cash(self) -> pd.Series:
        """Cash at each close. A fill that spends all the cash can leave -1e-12 of float noise, shown
        as 0; a real overdraft is far larger and stays visible."""
        cash = pd.Series(self.cash_values, index=self.equity.index, name="cash")
        return cash.mask((cash < 0) & (cash > -FLOAT_NOISE_WEIGHT * self.equity), 0.0)

    @cached_property
    def positions(self) -> pd.DataFrame:
        """Shares held at each close."""
        return pd.DataFrame(self.held_values, index=self.marks.index, columns=self.marks.columns)

    @cached_property
    def weights(self) -> pd.DataFrame:
        """Position value / equity at each close (0 where nothing is held)."""
        return pd.DataFrame(self.weight_values, index=self.marks.index, columns=self.marks.columns)

    @cached_property
    def weight_values(self) -> np.ndarray:
        """``weights`` without the frame (a sweep's metrics read only the numbers)."""
        value = np.where(self.held_values != 0.0, self.held_values * self.marks.to_numpy(), 0.0)
        return value / self.equity.to_numpy()[:, None]

    @cached_property
    def traded_notional(self) -> np.ndarray:
        """Traded value of each fill (shares x fill price), in execution order."""
        return self.order_records["size"] * self.order_records["price"]

    @cached_property
    def orders(self) -> pd.DataFrame:
        """One row per fill in execution order (sells first within a session), with the session the
        decision was taken on."""
        records, sessions, symbols = self.order_records, self.marks.index, self.marks.columns
        shares, price = records["size"], records["price"]
        return pd.DataFrame(
            {
                "session": sessions[records["idx"]],
                "decided": sessions[records["idx"] - 1],
                "symbol": symbols[records["col"]].astype(str),
                "side": np.where(records["side"] == 0, "buy", "sell"),
                "shares": shares,
                "price": price,
                "notional": self.traded_notional,
                "fees": records["fees"],
            },
            columns=ORDER_COLUMNS,
        )

    @cached_property
    def ordered_shares(self) -> np.ndarray:
        """Shares each fill was ordered for at the decision, before buys were cut for lack of cash
        (in execution order, like ``orders``)."""
        shares = self.order_records["size"]
        if self.buy_scale is None:
            return shares.copy()
        scale = np.where(self.order_records["side"] == 0, self.buy_scale[self.order_records["idx"]], 1.0)
        return shares / scale

    @cached_property
    def kernel_log(self) -> pd.DataFrame:
        """What the stateful rules did (KERNEL_LOG_COLUMNS); empty without rules."""
        records = self.log_records
        fields = dict(zip(rule_layout.LOG_FIELDS, records.T))
        return pd.DataFrame(
            {
                "session": self.marks.index[fields["i"].astype(int)],
                "symbol": self.marks.columns[fields["col"].astype(int)].astype(str),
                "rule": pd.Series([self.layout.codes[int(code)].rule for code in fields["code"]], dtype=str),
                "before": fields["before"],
                "after": fields["after"],
                "reason": pd.Series([self.layout.describe(r, self.group_names) for r in records], dtype=str),
            },
            columns=KERNEL_LOG_COLUMNS,
        )

    def portfolio(self, periods_per_year: float = 365.0) -> vbt.Portfolio:
        """The book as a vectorbt Portfolio (one group, shared cash), for vectorbt's analytics:
        trades, drawdowns, ``stats()``. Built from the order records. vectorbt annualises by
        ``year_freq / freq`` with ``year_freq`` = 365 days, so the index's frequency is set to
        365 / ``periods_per_year`` days: its ratios then annualise by ``periods_per_year`` sessions,
        as rulebook's metrics do (pass the exchange's sessions per year); durations read in
        calendar days on average."""
        import vectorbt as vbt  # 2.5 s to import: only when a caller asks for the portfolio
        from vectorbt.portfolio import enums as vbt_enums

        group_by = np.zeros(self.marks.shape[1], dtype=int)
        freq = pd.Timedelta(days=365.0 / periods_per_year)
        wrapper = vbt.ArrayWrapper.from_obj(self.marks, group_by=group_by, freq=freq)
        return vbt.Portfolio(wrapper, self.marks, self.order_records, np.zeros(0, dtype=vbt_enums.log_dt),
                             init_cash=np.array([self.init_cash]), cash_sharing=True)
