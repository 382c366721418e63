"""Numba callbacks that vectorbt's ``from_order_func`` runs at every rebalance.

One simulation = one vectorbt group with shared cash. On a session with a decision
(vectorbt "segment"), the callbacks run in this order:

1. ``pre_segment_nb``: mark every holding at this session's fill price, size each
   order from total equity, drop orders inside the rebalance band, sort the calls
   so that sells run before buys.
2. ``order_func_nb`` once per symbol in that order: sends the share amount at the
   fill price with fees and slippage; vectorbt executes it long-only (never sells
   more than held) and fills a buy partially when cash runs short.

With stateful rules (engine.rule_kernels) every session is a segment and
``pre_segment_rules_nb`` lets the rules rewrite the session's targets between
valuation and sizing; ``post_order_rules_nb`` keeps each name's cost basis (fill
price with slippage, plus fees) and resets its profit-taking state at a full exit.
Everything is ``cache=True`` so a test run does not recompile the callbacks.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from vectorbt.portfolio import nb
from vectorbt.portfolio.enums import Direction, OrderSide, OrderStatus, SizeType

from engine import rule_kernels as rk

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
def pre_segment_nb(c, order_shares, order_value, targets, fill_price, band):
    """Value holdings at the fill price, size the orders, put sells first."""
    for col in range(c.from_col, c.to_col):
        price = fill_price[c.i, col]
        if np.isfinite(price):  # else keep the last known price vectorbt carries forward
            c.last_val_price[col] = price
    equity = nb.get_group_value_ctx_nb(c)
    for k in range(c.group_len):
        col = c.from_col + k
        if equity > 0.0:
            order_shares[k] = rebalance_shares_nb(
                targets[c.i, col], c.last_position[col], fill_price[c.i, col], equity, band
            )
        else:
            order_shares[k] = 0.0
    _sells_first_nb(c, order_shares, order_value)
    return (order_shares,)


@njit(cache=True)
def _sells_first_nb(c, order_shares, order_value):
    # order value = shares x valuation price; ascending sort = biggest sells first, buys last
    nb.sort_call_seq_nb(c, order_shares, SizeType.Amount, Direction.LongOnly, order_value, ctx_select=False)


@njit(cache=True)
def pre_group_rules_nb(c):
    """Scratch buffers: shares and order values, plus the rules' targets and band overrides."""
    return np.zeros(c.group_len), np.empty(c.group_len), np.empty(c.group_len), np.zeros(c.group_len, np.bool_)


@njit(cache=True)
def pre_segment_rules_nb(c, order_shares, order_value, rule_target, forced, targets, fill_price, band, marks,
                         params, gross_limit, no_buy, state, log, log_count):
    """As ``pre_segment_nb``, with the stateful rules deciding each name's target first."""
    for col in range(c.from_col, c.to_col):
        price = fill_price[c.i, col]
        if np.isfinite(price):
            c.last_val_price[col] = price
    equity = nb.get_group_value_ctx_nb(c)
    order_shares[:] = 0.0
    if c.i > 0 and equity > 0.0:
        rk.session_targets_nb(c.i, c.from_col, c.to_col, c.last_position, c.last_val_price, fill_price, marks,
                              c.last_cash[c.group], equity, targets, no_buy, gross_limit[c.i], params, state,
                              log, log_count, rule_target, forced)
        for k in range(c.group_len):
            col = c.from_col + k
            order_shares[k] = rebalance_shares_nb(
                rule_target[k], c.last_position[col], fill_price[c.i, col], equity, 0.0 if forced[k] else band
            )
    _sells_first_nb(c, order_shares, order_value)
    return (order_shares,)


@njit(cache=True)
def post_order_rules_nb(c, order_shares, state):
    """Cost basis of the shares held (fees and slippage included); a full exit resets profit-taking."""
    result = c.order_result
    if result.status != OrderStatus.Filled:
        return
    col = c.col
    if result.side == OrderSide.Buy:
        state[col, rk.COST] += result.size * result.price + result.fees
    elif c.position_before > 0:
        state[col, rk.COST] *= c.position_now / c.position_before
    if c.position_now == 0.0:
        state[col, rk.COST] = state[col, rk.FIRED] = state[col, rk.BASE] = state[col, rk.PEAK] = 0.0


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
