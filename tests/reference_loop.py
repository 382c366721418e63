"""An independent plain-Python portfolio loop: the execution convention written out longhand.

It shares no code with engine.sim (no vectorbt, no numba) so that agreement between
the two is evidence, not tautology. The convention, session by session:

* the target row decided at the close of t-1 is executed at session t, at the open
  (``next_open``) or the close (``next_close``) of t;
* equity for sizing = cash + holdings marked at the fill price (the last known price
  where the fill price is missing);
* shares wanted = target x equity / fill price; skip a name whose target is NaN, whose
  fill price is missing, or whose weight would move by less than the band (or by
  at most 1e-9: float noise); a target of 0 sells the whole holding;
* sells run first, then buys, each side from the smallest order value to the largest;
* a sell fills at price x (1 - slippage), a buy at price x (1 + slippage); the fee is
  fees x shares x that price; a buy whose cost plus fee exceeds cash buys what the
  cash pays for, fee included;
* equity at each close = cash + holdings x last known price (the close, else that
  session's open, else the previous last known price).
"""

from __future__ import annotations

import math

import pandas as pd

FLOAT_NOISE_WEIGHT = 1e-9


def reference_simulate(targets, open_, close, fill="next_open", fees_bps=0.0, slippage_bps=0.0, band=0.0,
                       init_cash=1_000_000.0):
    """Return (equity Series, cash Series, positions DataFrame, list of order dicts)."""
    symbols, sessions = list(close.columns), close.index
    fill_px = (open_ if fill == "next_open" else close)[symbols].to_numpy(dtype=float)
    close_px = close[symbols].to_numpy(dtype=float)
    open_px = open_[symbols].to_numpy(dtype=float)
    wanted = targets[symbols].to_numpy(dtype=float)
    fee, slip = fees_bps / 1e4, slippage_bps / 1e4

    cash = float(init_cash)
    shares = [0.0] * len(symbols)
    last_price = [math.nan] * len(symbols)
    equity_rows, cash_rows, position_rows, orders = [], [], [], []

    for t in range(len(sessions)):
        if t > 0 and not all(math.isnan(w) for w in wanted[t - 1]):
            marks = [p if math.isfinite(p) else last_price[k] for k, p in enumerate(fill_px[t])]
            equity = cash + sum(q * m for q, m in zip(shares, marks) if q != 0)
            plan = []
            for k, target in enumerate(wanted[t - 1]):
                price = fill_px[t][k]
                if math.isnan(target) or not math.isfinite(price) or equity <= 0:
                    continue
                move = target - shares[k] * price / equity
                if abs(move) < band or abs(move) <= FLOAT_NOISE_WEIGHT:
                    continue
                delta = -shares[k] if target == 0 else target * equity / price - shares[k]
                plan.append((delta * price, k, delta))
            plan.sort(key=lambda order: order[0])  # stable: ties keep symbol order
            for _, k, delta in plan:
                price = fill_px[t][k]
                if delta < 0:
                    sold = min(-delta, shares[k])
                    px = price * (1 - slip)
                    paid_fee = sold * px * fee
                    cash += sold * px - paid_fee
                    shares[k] -= sold
                    side, qty = "sell", sold
                else:
                    px = price * (1 + slip)
                    qty = delta
                    if qty * px * (1 + fee) > cash:
                        qty = cash / (1 + fee) / px
                    if qty <= 0:
                        continue
                    paid_fee = qty * px * fee
                    cash = max(cash - qty * px - paid_fee, 0.0)
                    shares[k] += qty
                    side = "buy"
                orders.append(dict(session=sessions[t], decided=sessions[t - 1], symbol=symbols[k], side=side,
                                   shares=qty, price=px, notional=qty * px, fees=paid_fee))
        for k in range(len(symbols)):
            for seen in (close_px[t][k], open_px[t][k]):
                if math.isfinite(seen):
                    last_price[k] = seen
                    break
        equity_rows.append(cash + sum(q * p for q, p in zip(shares, last_price) if q != 0))
        cash_rows.append(cash)
        position_rows.append(list(shares))

    return (
        pd.Series(equity_rows, index=sessions, name="equity"),
        pd.Series(cash_rows, index=sessions, name="cash"),
        pd.DataFrame(position_rows, index=sessions, columns=symbols),
        orders,
    )
