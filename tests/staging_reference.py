"""The stateful rules written out as a slow, obvious Python loop over sessions and names.

It reads the config models directly (not the compiled arrays) and trades through
tests/reference_loop.Book (no vectorbt, no numba), so agreement with engine.sim.simulate +
engine.sim.rule_kernels is evidence that the compiled path implements the rules below:

At session t (decisions on the close of t-1; weights of the equity at t-1's closes with
``size_at="decision"``, at t's fill prices with ``"fill"``, as in tests/reference_loop.py):
* exit rules on a held name, in order, until one exits it fully:
  - profit-taking: the trailing stop (close <= peak since last stage x (1 - stop)) exits;
    else all stages whose gain (close / average cost - 1, the cost including slippage and
    fees) is reached fire, or one stage on a surge; the name is then capped at base shares
    x (1 - sold fractions);
  - stop-loss: once per holding, a close <= average cost x (1 - loss) sells `sell` of the
    shares; the name is then capped at what is left;
  - drawdown exit: a close <= peak close since entry x (1 - drawdown) exits;
  the name's target is the smallest forced target, capped by every rule's cap;
* a buy is held back (and retried every session toward the standing target) after a
  rule's exit until that rule's `cooldown` sessions have passed since the exit fill or the
  close is its `pullback` below the exit price, and while the no_buy mask is set;
* a buy from (near) zero goes in tranches of target/N every `every` sessions (earlier on
  a close `pullback` below the last tranche's fill), the last tranche up to the target;
* names, groups and the gross that closed above cap + band are trimmed to the cap.
Rule orders ignore the execution band; a full exit resets the profit-taking state.
"""

from __future__ import annotations

import math
import statistics

from reference_loop import Book, order_rows, order_shares

NOISE = 1e-9
NEAR_ZERO = 1e-6


def fresh_state():
    return dict(cost=0.0, fired=0, base=0.0, peak=0.0, blocked=False, exit_t=0, exit_px=0.0, cooldown=0,
                pullback=None, standing=math.nan, pending=False, tranche=0, tranche_t=0, tranche_px=0.0,
                sl_fired=False, sl_base=0.0, dd_peak=0.0)


FLAT_RESET = dict(cost=0.0, fired=0, base=0.0, peak=0.0, sl_fired=False, sl_base=0.0, dd_peak=0.0)


def surged(marks, prev, k, sessions, threshold):
    if prev - sessions < 0:
        return False
    return marks[prev][k] / marks[prev - sessions][k] - 1 >= threshold


def surged_z(marks, prev, k, sessions, z, window):
    if prev - max(sessions, window) < 0:
        return False
    daily = [marks[j][k] / marks[j - 1][k] - 1 for j in range(prev - window + 1, prev + 1)]
    if any(math.isnan(r) for r in daily) or math.isnan(marks[prev - sessions][k]):
        return False
    vol = statistics.stdev(daily)
    return vol > 0 and (marks[prev][k] / marks[prev - sessions][k] - 1) / (vol * math.sqrt(sessions)) >= z


def reference_staged(targets, open_, close, groups, caps=None, profit_taking=None, staged_entry=None,
                     gross_limit=None, no_buy=None, fill="next_open", fees_bps=0.0, slippage_bps=0.0, band=0.0,
                     init_cash=1_000_000.0, size_at="decision", stop_loss=None, drawdown_exit=None):
    """(equity, cash, positions, orders, log) where log rows are (session, symbol, rule, before, after)."""
    symbols, sessions = list(close.columns), close.index
    n = len(symbols)
    fill_px = (open_ if fill == "next_open" else close)[symbols].to_numpy(dtype=float)
    close_px, open_px = close[symbols].to_numpy(dtype=float), open_[symbols].to_numpy(dtype=float)
    marks = close[symbols].fillna(open_[symbols]).ffill().to_numpy(dtype=float)
    wanted = targets[symbols].to_numpy(dtype=float)
    cap_of = [math.inf if caps is None or caps.name is None else caps.name] * n
    if caps is not None:
        cap_of = [caps.names.get(s, cap_of[k]) for k, s in enumerate(symbols)]
    group_caps = dict(caps.groups) if caps is not None else {}
    drift_band = caps.band if caps is not None else math.inf
    gross_cap = min(caps.gross, 1 - caps.cash_floor) if caps is not None else 1.0
    stages = profit_taking.stages if profit_taking else []
    book = Book(symbols, init_cash, fees_bps, slippage_bps)
    state = [fresh_state() for _ in symbols]
    orders, log = [], []

    for t in range(len(sessions)):
        equity = book.equity_at(fill_px[t])
        if t > 0 and size_at == "decision":
            equity = book.closes[-1][0]
        if t > 0 and equity > 0:
            prev, px, due = t - 1, fill_px[t], wanted[t - 1]
            held = list(book.shares)
            val = [p if math.isfinite(p) else book.last_price[k] for k, p in enumerate(px)]
            if size_at == "decision":
                val = list(marks[prev])
            equity_prev = book.cash + sum(q * marks[prev][k] for k, q in enumerate(held) if q > 0)
            w_fill = [held[k] * val[k] / equity if held[k] > 0 else 0.0 for k in range(n)]
            w_prev = [held[k] * marks[prev][k] / equity_prev if held[k] > 0 else 0.0 for k in range(n)]
            target, forced = list(due), [False] * n

            def note(k, rule, before, after):
                log.append((sessions[t], symbols[k], rule, before, after))

            def profit_taking_rule(s, k, t, held_k, px_k, w_k, equity, mark, due_k, note):
                if s["fired"] > 0:
                    s["peak"] = max(s["peak"], mark)
                    stop = profit_taking.trailing_stop
                    if stop is not None and mark <= s["peak"] * (1 - stop):
                        note(k, "trailing_stop", w_k, 0.0)
                        exit_by_rule(s, profit_taking.reentry, t, px_k)
                        return 0.0, 0.0
                gain = mark * held_k / s["cost"] - 1
                count = 0
                while s["fired"] + count < len(stages) and gain >= stages[s["fired"] + count].gain:
                    count += 1
                if count == 0 and s["fired"] < len(stages):
                    surge, surge_z = profit_taking.surge, profit_taking.surge_z
                    if surge and surged(marks, t - 1, k, surge.sessions, surge.return_):
                        count = 1
                    elif surge_z and surged_z(marks, t - 1, k, surge_z.sessions, surge_z.z, surge_z.vol_window):
                        count = 1
                if count:
                    if s["fired"] == 0:
                        s["base"] = held_k
                    s["fired"] += count
                    s["peak"] = mark
                if not s["fired"]:
                    return math.inf, math.nan
                left = max(1 - sum(stage.sell for stage in stages[: s["fired"]]), 0.0)
                cap = min(s["base"] * left, held_k) * val[k] / equity if left > 1e-12 else 0.0
                if count:
                    note(k, "profit_taking", w_k, cap)
                    if cap == 0.0:
                        exit_by_rule(s, profit_taking.reentry, t, px_k)
                    return cap, cap if math.isnan(due_k) else min(due_k, cap)
                if due_k > cap + NOISE and due_k > w_k + NOISE:
                    note(k, "profit_taking", due_k, cap)
                    return cap, cap
                return cap, math.nan

            def stop_loss_rule(s, k, t, held_k, px_k, w_k, equity, mark, due_k, note):
                left = 1 - stop_loss.sell
                if not s["sl_fired"]:
                    if mark / (s["cost"] / held_k) - 1 > -stop_loss.loss:
                        return math.inf, math.nan
                    s["sl_fired"], s["sl_base"] = True, held_k
                    cap = held_k * left * val[k] / equity if left > 1e-12 else 0.0
                    note(k, "stop_loss", w_k, cap)
                    if cap == 0.0:
                        exit_by_rule(s, stop_loss.reentry, t, px_k)
                    return cap, cap if math.isnan(due_k) else min(due_k, cap)
                cap = min(s["sl_base"] * left, held_k) * val[k] / equity
                if due_k > cap + NOISE and due_k > w_k + NOISE:
                    note(k, "stop_loss", due_k, cap)
                    return cap, cap
                return cap, math.nan

            def drawdown_rule(s, k, t, held_k, px_k, w_k, equity, mark, due_k, note):
                s["dd_peak"] = max(s["dd_peak"], mark)
                if mark > s["dd_peak"] * (1 - drawdown_exit.drawdown):
                    return math.inf, math.nan
                note(k, "drawdown_exit", w_k, 0.0)
                exit_by_rule(s, drawdown_exit.reentry, t, px_k)
                return 0.0, 0.0

            for k in range(n):
                s, mark = state[k], marks[prev][k]
                if not math.isnan(due[k]):
                    s["standing"] = due[k]
                    if due[k] <= w_fill[k] + NOISE:
                        s["tranche"] = 0
                if not math.isfinite(px[k]):
                    target[k] = math.nan
                    continue
                limit, acted = math.inf, math.nan
                if held[k] > 0:
                    exits = [rule for rule, on in ((profit_taking_rule, stages), (stop_loss_rule, stop_loss),
                                                   (drawdown_rule, drawdown_exit)) if on]
                    for exit_rule in exits:
                        cap, forces = exit_rule(s, k, t, held[k], px[k], w_fill[k], equity, mark, due[k], note)
                        limit = min(limit, cap)
                        if not math.isnan(forces):
                            acted = forces if math.isnan(acted) else min(acted, forces)
                        if acted == 0.0:
                            break
                    if not math.isnan(acted):
                        target[k], forced[k] = min(acted, limit), True
                        if target[k] == 0.0:
                            continue
                if math.isnan(target[k]) and s["pending"]:
                    target[k] = min(s["standing"], limit)
                s["pending"] = False
                if not target[k] > w_fill[k] + NOISE:
                    continue
                if s["blocked"]:
                    pulled = s["pullback"] is not None and mark <= s["exit_px"] * (1 - s["pullback"])
                    if t - s["exit_t"] >= s["cooldown"] or pulled:
                        s["blocked"] = False
                    else:
                        if not math.isnan(due[k]):
                            note(k, "reentry_block", w_fill[k], w_fill[k])
                        target[k], s["pending"] = math.nan, True
                        continue
                if no_buy is not None and prev >= 0 and no_buy.iloc[prev][symbols[k]]:
                    if not math.isnan(due[k]):
                        note(k, "no_buy", w_fill[k], w_fill[k])
                    target[k], s["pending"] = math.nan, True
                    continue
                if staged_entry is not None and (s["tranche"] > 0 or w_fill[k] < NEAR_ZERO):
                    if s["tranche"] > 0:
                        pulled = staged_entry.pullback is not None and mark <= s["tranche_px"] * (
                            1 - staged_entry.pullback)
                        if t - s["tranche_t"] < staged_entry.every and not pulled:
                            target[k], s["pending"] = math.nan, True
                            continue
                    goal = target[k]
                    last = s["tranche"] + 1 >= staged_entry.tranches
                    step = goal if last else min(goal, w_fill[k] + goal / staged_entry.tranches)
                    note(k, "staged_entry", w_fill[k], step)
                    if step >= goal - NOISE:
                        s["tranche"] = 0
                    else:
                        s.update(tranche=s["tranche"] + 1, tranche_t=t, tranche_px=px[k], pending=True)
                    if step != goal:
                        target[k], forced[k] = step, True

            regime = gross_limit.iloc[prev] if gross_limit is not None else math.nan
            limit_now = gross_cap if math.isnan(regime) else min(gross_cap, regime)
            trims = drift_trims(target, w_prev, w_fill, cap_of, groups, group_caps, limit_now, drift_band, symbols)
            for k, trimmed in trims if caps is not None else []:
                if math.isfinite(px[k]):
                    note(k, "caps_drift", w_fill[k] if math.isnan(target[k]) else target[k], trimmed)
                    target[k], forced[k] = trimmed, True

            plan = [(k, order_shares(target[k], held[k], val[k], equity, 0.0 if forced[k] else band)
                     if math.isfinite(px[k]) else 0.0) for k in range(n)]
            fills = book.trade([order for order in plan if order[1] != 0], px, size_at == "decision")
            for k, side, qty, paid, fee in fills:
                s = state[k]
                before = book.shares[k] + qty if side == "sell" else book.shares[k] - qty
                if side == "buy":
                    s["cost"] += qty * paid + fee
                elif before > 0:
                    s["cost"] *= book.shares[k] / before
                if book.shares[k] == 0:
                    s.update(FLAT_RESET)
            orders += order_rows(fills, sessions[t], sessions[prev], symbols)
        book.close_session(close_px[t], open_px[t])

    return (*book.history(sessions), orders, log)


def exit_by_rule(s, reentry, t, price):
    if reentry is not None:
        s.update(blocked=True, cooldown=reentry.cooldown, pullback=reentry.pullback)
    s["exit_t"], s["exit_px"] = t, price


def drift_trims(target, w_prev, w_fill, cap_of, groups, group_caps, gross, band, symbols):
    """[(name index, trimmed weight)] for names, groups and gross that closed above cap + band."""
    n = len(target)
    planned_prev = [w_prev[k] if math.isnan(target[k]) else target[k] for k in range(n)]
    planned = [w_fill[k] if math.isnan(target[k]) else target[k] for k in range(n)]
    out = list(planned)
    for k in range(n):
        if planned_prev[k] > cap_of[k] + band + NOISE:
            out[k] = min(out[k], cap_of[k])
    for group, cap in group_caps.items():
        members = [k for k in range(n) if symbols[k] in groups[group]]
        if sum(planned_prev[k] for k in members) > cap + band + NOISE:
            total = sum(out[k] for k in members if out[k] > 0)
            if total > cap:
                for k in members:
                    out[k] *= cap / total
    if sum(planned_prev) > gross + band + NOISE and sum(out) > gross:
        total = sum(out)
        out = [w * gross / total for w in out]
    return [(k, out[k]) for k in range(n) if out[k] < planned[k] - NOISE]
