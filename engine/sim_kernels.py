"""Numba callbacks that vectorbt's ``from_order_func`` runs at every rebalance.

One simulation = one vectorbt group with shared cash. On a session with a decision
(vectorbt "segment"), the callbacks run in this order:

1. ``pre_segment_nb``: mark every holding at this session's fill price, size each
   order from total equity, drop orders inside the rebalance band, sort the calls
   so that sells run before buys.
2. ``order_func_nb`` once per symbol in that order: sends the share amount at the
   fill price with fees and slippage; vectorbt executes it long-only (never sells
   more than held) and fills a buy partially when cash runs short.

With stateful rules every session is a segment and engine.rule_kernels supplies
the callbacks, which reuse the sizing and ordering here.
Everything is ``cache=True`` so a test run does not recompile the callbacks.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from vectorbt.portfolio import nb
from vectorbt.portfolio.enums import Direction, SizeType

# A weight change this small is float noise (1e-9 of equity is $0.001 on $1M):
# re-applying the same targets must not produce dust orders.
FLOAT_NOISE_WEIGHT = 1e-9


@njit(cache=True)
def rebalance_shares_nb(target: float, position: float, price: float, equity: float, band: float) -> float:
    """Signed shares that move one name from ``position`` to ``target`` of equity; 0 = no order."""
    if np.isnan(target) or not np.isfinite(price):
        return 0.0
    weight_change = target - position * price / equity
    if abs(weight_change) < band or abs(weight_change) <= FLOAT_NOISE_WEIGHT:
        return 0.0
    if target == 0.0:
        return -position  # close exactly, no residue
    return target * equity / price - position


@njit(cache=True)
def pre_group_nb(c):
    """Scratch buffers reused by every segment: shares per symbol and order values."""
    return np.zeros(c.group_len), np.empty(c.group_len)


@njit(cache=True)
def equity_at_fill_nb(c, fill_price):
    """Mark every holding at this session's fill price; return the group's equity."""
    for col in range(c.from_col, c.to_col):
        price = fill_price[c.i, col]
        if np.isfinite(price):  # else keep the last known price vectorbt carries forward
            c.last_val_price[col] = price
    return nb.get_group_value_ctx_nb(c)


@njit(cache=True)
def pre_segment_nb(c, order_shares, order_value, targets, fill_price, band):
    """Value holdings at the fill price, size the orders, put sells first."""
    equity = equity_at_fill_nb(c, fill_price)
    for k in range(c.group_len):
        col = c.from_col + k
        if equity > 0.0:
            order_shares[k] = rebalance_shares_nb(
                targets[c.i, col], c.last_position[col], fill_price[c.i, col], equity, band
            )
        else:
            order_shares[k] = 0.0
    sells_first_nb(c, order_shares, order_value)
    return (order_shares,)


@njit(cache=True)
def sells_first_nb(c, order_shares, order_value):
    # order value = shares x valuation price; ascending sort = biggest sells first, buys last
    nb.sort_call_seq_nb(c, order_shares, SizeType.Amount, Direction.LongOnly, order_value, ctx_select=False)


@njit(cache=True)
def order_func_nb(c, order_shares, fill_price, fees, slippage):
    """Send this symbol's order sized in ``pre_segment_nb`` (or nothing)."""
    shares = order_shares[c.col - c.from_col]
    if shares == 0.0:
        return nb.order_nothing_nb()
    return nb.order_nb(
        size=shares,
        price=fill_price[c.i, c.col],
        size_type=SizeType.Amount,
        direction=Direction.LongOnly,
        fees=fees,
        slippage=slippage,
        allow_partial=True,
    )
