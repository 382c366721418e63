"""An independent plain-Python portfolio loop: the execution convention written out longhand.

It shares no code with engine.sim.simulate (no vectorbt, no numba) so that agreement between
the two is evidence, not tautology. The convention, session by session:

* the target row decided at the close of t-1 is executed at session t, at the open
  (``next_open``) or the close (``next_close``) of t;
* ``size_at="decision"``: the sizing price is the last known price at the close of t-1
  and the sizing equity is the book's equity at that close; ``size_at="fill"``: the fill
  price (the last known price where it is missing) and cash + holdings at it;
* shares wanted = target x sizing equity / sizing price; skip a name whose target is NaN,
  whose fill price is missing, or whose weight at the sizing prices would move by less
  than the band (or by at most 1e-9: float noise); a target of 0 sells the whole holding;
* sells run first, then buys, each side from the smallest order value to the largest;
* a sell fills at price x (1 - slippage), a buy at price x (1 + slippage); the fee is
  fees x shares x that price; with ``decision`` sizing, buys whose total cost plus fees
  exceeds the cash left after the sells are all scaled by cash / that total; with
  ``fill`` sizing a buy whose cost plus fee exceeds cash buys what the cash pays for;
* equity at each close = cash + holdings x last known price (the close, else that
  session's open, else the previous last known price).
"""

from __future__ import annotations

import math

import pandas as pd

FLOAT_NOISE_WEIGHT = 1e-9


class Book:
    """Cash, shares and last known prices of one long-only book, traded by the convention above."""

    def __init__(self, symbols, init_cash, fees_bps=0.0, slippage_bps=0.0):
        self.symbols = list(symbols)
        self.cash = float(init_cash)
        self.shares = [0.0] * len(self.symbols)
        self.last_price = [math.nan] * len(self.symbols)
        self.fee, self.slip = fees_bps / 1e4, slippage_bps / 1e4
        self.closes = []  # (equity, cash, shares) at every session close

    def equity_at(self, prices):
        """Cash + holdings at ``prices`` (the last known price where one is missing)."""
        marks = [p if math.isfinite(p) else self.last_price[k] for k, p in enumerate(prices)]
        return self.cash + sum(q * m for q, m in zip(self.shares, marks) if q != 0)

    def trade(self, plan, prices, pro_rata=False):
        """Execute ``plan`` (list of (k, signed shares)) at ``prices``, sells first, each side from the
        smallest order value up (``pro_rata``: buys scaled together to the cash left after the sells);
        return the fills as (k, side, shares, price paid, fee)."""
        fills, scaled, shares = [], not pro_rata, dict(plan)
        for k, _ in sorted(plan, key=lambda order: order[1] * prices[order[0]]):  # stable on ties
            price = prices[k]
            if shares[k] > 0 and not scaled:
                need = sum(q * prices[j] * (1 + self.slip) * (1 + self.fee) for j, q in shares.items() if q > 0)
                if need > self.cash:
                    shares = {j: q * self.cash / need if q > 0 else q for j, q in shares.items()}
                scaled = True
            delta = shares[k]
            if delta < 0:
                qty = min(-delta, self.shares[k])
                px = price * (1 - self.slip)
                paid_fee = qty * px * self.fee
                self.cash += qty * px - paid_fee
                self.shares[k] -= qty
                fills.append((k, "sell", qty, px, paid_fee))
            else:
                px = price * (1 + self.slip)
                qty = delta
                if qty * px * (1 + self.fee) > self.cash:
                    qty = self.cash / (1 + self.fee) / px
                if qty <= 0:
                    continue
                paid_fee = qty * px * self.fee
                self.cash = max(self.cash - qty * px - paid_fee, 0.0)
                self.shares[k] += qty
                fills.append((k, "buy", qty, px, paid_fee))
        return fills

    def mark(self, close_row, open_row):
        """Remember the last known price of each name at this close; return equity."""
        for k in range(len(self.symbols)):
            for seen in (close_row[k], open_row[k]):
                if math.isfinite(seen):
                    self.last_price[k] = seen
                    break
        return self.cash + sum(q * p for q, p in zip(self.shares, self.last_price) if q != 0)

    def close_session(self, close_row, open_row):
        """Mark the book at this close and keep the session's equity, cash and shares."""
        self.closes.append((self.mark(close_row, open_row), self.cash, list(self.shares)))

    def history(self, sessions):
        """(equity, cash, positions) over the sessions closed so far."""
        equity, cash, shares = zip(*self.closes)
        return (pd.Series(equity, index=sessions, name="equity"), pd.Series(cash, index=sessions, name="cash"),
                pd.DataFrame(list(shares), index=sessions, columns=self.symbols))


def order_shares(target, held, price, equity, band):
    """Signed shares that move a name to ``target`` of equity; 0 when inside the band or not tradable."""
    if math.isnan(target) or not math.isfinite(price) or equity <= 0:
        return 0.0
    move = target - held * price / equity
    if abs(move) < band or abs(move) <= FLOAT_NOISE_WEIGHT:
        return 0.0
    return -held if target == 0 else target * equity / price - held


def order_rows(fills, session, decided, symbols):
    return [dict(session=session, decided=decided, symbol=symbols[k], side=side, shares=qty, price=px,
                 notional=qty * px, fees=fee) for k, side, qty, px, fee in fills]


def reference_simulate(targets, open_, close, fill="next_open", fees_bps=0.0, slippage_bps=0.0, band=0.0,
                       init_cash=1_000_000.0, size_at="decision"):
    """Return (equity Series, cash Series, positions DataFrame, list of order dicts)."""
    symbols, sessions = list(close.columns), close.index
    fill_px = (open_ if fill == "next_open" else close)[symbols].to_numpy(dtype=float)
    close_px = close[symbols].to_numpy(dtype=float)
    open_px = open_[symbols].to_numpy(dtype=float)
    wanted = targets[symbols].to_numpy(dtype=float)
    book = Book(symbols, init_cash, fees_bps, slippage_bps)
    orders = []

    for t in range(len(sessions)):
        if t > 0 and not all(math.isnan(w) for w in wanted[t - 1]):
            if size_at == "decision":
                equity, size_px = book.closes[-1][0], list(book.last_price)
            else:
                equity, size_px = book.equity_at(fill_px[t]), fill_px[t]
            plan = [(k, order_shares(target, book.shares[k], size_px[k], equity, band)
                     if math.isfinite(fill_px[t][k]) else 0.0) for k, target in enumerate(wanted[t - 1])]
            fills = book.trade([order for order in plan if order[1] != 0], fill_px[t], size_at == "decision")
            orders += order_rows(fills, sessions[t], sessions[t - 1], symbols)
        book.close_session(close_px[t], open_px[t])

    return (*book.history(sessions), orders)
