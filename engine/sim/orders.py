"""Order sizing and execution primitives shared by the simulation loop and the rules.

Orders execute through vectorbt's own ``execute_order_nb`` (long only, fees and
slippage, partial buys when cash runs short) and land in vectorbt order records
(``fill_order_record_nb``), as vectorbt's ``process_order_nb`` does, so a book's fills are
exactly what vectorbt would record for the same orders.
Everything is compiled with engine.sim.kernel_cache.kernel, so a new process loads them from disk.
vectorbt is needed only to compile them: it is imported (about 2.5 s of CPU) just before numba
compiles a kernel of this file, never when a run loads them from the cache.
"""

from __future__ import annotations

import numpy as np

from engine.sim.kernel_cache import kernel

# vectorbt.portfolio.enums.order_dt, declared here so that a run need not import vectorbt
# (tests/test_sim_vectorbt.py checks the two are equal)
ORDER_DT = np.dtype([("id", np.int64), ("col", np.int64), ("idx", np.int64), ("size", np.float64),
                     ("price", np.float64), ("fees", np.float64), ("side", np.int64)], align=True)
# vectorbt's order primitives, bound by _import_vectorbt just before numba compiles a kernel that calls them
nb = enums = insert_argsort_nb = None


def _import_vectorbt() -> None:
    global nb, enums, insert_argsort_nb
    from vectorbt.portfolio import enums, nb  # noqa: F811
    from vectorbt.utils.array_ import insert_argsort_nb  # noqa: F811

# A weight change this small is float noise (1e-9 of equity is $0.001 on $1M):
# re-applying the same targets must not produce dust orders.
FLOAT_NOISE_WEIGHT = 1e-9


@kernel(inline="always")
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


@kernel(before_compile=_import_vectorbt)
def sells_first_nb(order_shares, val_price, order_value, call_seq):
    """Execution order of one session's orders: ascending order value (shares x valuation
    price), so the biggest sells run first and buys last, the smallest buy first (as
    vectorbt's ``sort_call_seq_nb``)."""
    for k in range(order_shares.shape[0]):
        call_seq[k] = k
        order_value[k] = order_shares[k] * val_price[k]
    insert_argsort_nb(order_value, call_seq)


@kernel(inline="always")
def buy_scale_nb(order_shares, fill_price, fees, slippage, cash):
    """Scale every buy in ``order_shares`` by one factor so that all of them, at the slipped fill
    price plus fees (vectorbt's cost of a buy), fit in ``cash``; return the factor (1 = no cut).
    The shortfall is shared pro rata, so no single name ends up short of its peers."""
    cost = 0.0
    for k in range(order_shares.shape[0]):
        if order_shares[k] > 0.0:
            cost += order_shares[k] * fill_price[k] * (1.0 + slippage) * (1.0 + fees)
    if cost <= cash:
        return 1.0
    scale = max(cash, 0.0) / cost
    for k in range(order_shares.shape[0]):
        if order_shares[k] > 0.0:
            order_shares[k] *= scale
    return scale


@kernel(before_compile=_import_vectorbt)
def execute_nb(i, col, shares, price, fees, slippage, cash, position, val_price, value, records, n_records):
    """Fill ``shares`` (signed) of one name at ``price``: (filled?, side is buy?, size, fill price,
    fees, new cash, new position, fills so far). A fill is written to ``records[n_records]`` while the
    records have room; past it only counted (engine.sim.loop reruns the book with room for all)."""
    order = nb.order_nb(size=shares, price=price, size_type=enums.SizeType.Amount,
                        direction=enums.Direction.LongOnly, fees=fees, slippage=slippage, allow_partial=True)
    before = enums.ProcessOrderState(cash=cash, position=position, debt=0.0, free_cash=cash, val_price=val_price,
                                     value=value, oidx=n_records, lidx=0)
    after, result = nb.execute_order_nb(before, order)
    filled = result.status == enums.OrderStatus.Filled
    if filled:
        if n_records < records.shape[0]:
            nb.fill_order_record_nb(records[n_records], n_records, i, col, result)
        n_records += 1
    return filled, result.side == 0, result.size, result.price, result.fees, after.cash, after.position, n_records
