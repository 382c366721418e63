"""The one-page "rule check" of a book (`rulebook today --report`): where it stands against each rule.

A sheet a PM hands around, so it keeps to the rows that matter: a headline ("3 orders; 1 name
over its cap; hedge: none allowed (...)"), the orders, the names held or ordered against their
caps (flagged when over or near the cap, excluded by the screen or in an event window), the
capped groups and the gross, the names the screen scales or excludes (with the filing each
verdict rests on), the open event windows, the regime and the hedges. Each rule is asked through
its own ``apply`` on the same data the decision used; engine.practice.rule_check_page draws it
as one HTML page and one PDF page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import numpy as np
import pandas as pd

from engine.report.formatting import money, percent
from engine.report.model import Table
from engine.run.run_data import rule_groups
from engine.sim.orders import FLOAT_NOISE_WEIGHT
from engine.practice.today import Today
from strategies.rule_types import RuleContext
from strategies.schedule import rebalance_sessions

NEAR_CAP = 0.9  # a name at this fraction of its cap or more is flagged "near cap"
MAX_NAME_ROWS = 40  # more names held than this: the ones within their caps and not ordered are summed up in a line


@dataclass(frozen=True)
class RuleCheck:
    """What the page says, cells already formatted. ``left``/``right``: the two columns under the orders."""

    title: str
    subtitle: str
    synthetic: bool
    headline: str
    book: str
    orders: Table
    left: list[Table]
    right: list[Table | str]
    notes: list[str] = field(default_factory=list)
    page_size: str = "A4"


@dataclass(frozen=True)
class _Verdicts:
    """Per symbol: the screen's verdict and why, the open event windows' text, and the regime's gross cap."""

    screen: pd.DataFrame | None  # symbol-indexed: verdict (passes / scaled / excluded), why
    events: list[list[str]]  # symbol, kinds, action, why
    regime_limit: float
    regime_why: str


def rule_check(result: Today, page_size: str | None = None) -> RuleCheck:
    config = result.config
    verdicts = _verdicts(result)
    day = result.as_of.date().isoformat()
    book = result.book
    held = book["shares"].gt(0)
    gross_now, gross_after = book["weight"].sum(), book["weight_after"].sum()
    book_line = (f"Book {money(result.equity)}: {money(result.cash)} cash ({percent(result.cash / result.equity, 1)}), "
                 f"{int(held.sum())} names held, gross {percent(gross_now, 1)} → {percent(gross_after, 1)} after the "
                 "orders. Orders are estimated at this close and fill at the next session.")
    right: list[Table | str] = [_groups(result, verdicts)]
    if verdicts.screen is not None:
        right += _screen_blocks(verdicts.screen)
    if config.rules is not None and config.rules.events:
        right.append(Table("Open event windows", ["symbol", "kinds", "action", "why"],
                           verdicts.events or [["—", "", "", "none open at this close"]], [False] * 4, key="events"))
    if config.rules is not None and config.rules.regime is not None:
        right.append(_regime_text(verdicts))
    if len(result.hedges):
        right.append(_hedges(result.hedges))
    return RuleCheck(
        title=f"{config.name}: rule check at the close of {day}", subtitle=config.description,
        synthetic=result.decision.data.synthetic, headline=_headline(result, verdicts), book=book_line,
        orders=_orders(result.orders), left=[_names(result, verdicts)], right=right, notes=list(result.notes),
        page_size=page_size or config.report.page_size)


def _verdicts(result: Today) -> _Verdicts:
    rules, data, at = result.config.rules, result.decision.data, result.decision.at
    if rules is None:
        return _Verdicts(None, [], np.nan, "")
    ctx = RuleContext(data, result.config.universe.symbols, rule_groups(result.config, data),
                      rebalance_sessions(data.sessions, rules.weighting.rebalance))
    screen = None
    if rules.screen is not None:
        out = rules.screen.build().apply(ctx)
        values = out.values.iloc[at]
        screen = pd.DataFrame({"verdict": np.where(values >= 1, "passes", np.where(values > 0, "scaled", "excluded")),
                               "why": out.reasons.iloc[at].astype(str).to_numpy()}, index=ctx.symbols)
    events = []
    for rule in rules.events or []:
        out = rule.build().apply(ctx)
        for symbol in ctx.symbols:
            blocked = out.no_buy is not None and bool(out.no_buy.iloc[at][symbol])
            if out.values.iloc[at][symbol] < 1 or blocked:
                events.append([symbol, ", ".join(rule.kinds), rule.action, str(out.reasons.iloc[at][symbol])])
    limit, why = np.nan, ""
    if rules.regime is not None:
        out = rules.regime.build().apply(ctx)
        limit, why = float(out.values.iloc[at]), str(out.reasons.iloc[at])
    return _Verdicts(screen, events, limit if why else np.nan, why)


def _caps(result: Today):
    return result.config.rules.caps if result.config.rules is not None else None


def _name_caps(result: Today) -> pd.Series:
    caps, symbols = _caps(result), list(result.book.index)
    return pd.Series(caps.name_caps(symbols) if caps is not None else np.inf, index=symbols, dtype=float)


def _over(weight: float, cap: float) -> bool:
    return weight > cap + FLOAT_NOISE_WEIGHT  # the kernel's own tolerance on a cap


def _headline(result: Today, verdicts: _Verdicts) -> str:
    orders = result.orders
    buys, sells = int((orders["side"] == "buy").sum()), int((orders["side"] == "sell").sum())
    parts = [f"{len(orders)} order{'s' * (len(orders) != 1)}" + (f" ({buys} buy, {sells} sell)" if buys and sells
                                                                 else "") if len(orders) else "no orders"]
    caps = _caps(result)
    if caps is not None:
        name_cap = _name_caps(result)
        over = [s for s in result.book.index if _over(result.book.at[s, "weight"], name_cap[s])]
        parts.append("no name over its cap" if not over else f"{len(over)} name{'s' * (len(over) > 1)} over "
                     f"{'its cap' if len(over) == 1 else 'their caps'} ({', '.join(over)})")
        for group, weight, _, cap in _group_weights(result):
            if _over(weight, cap):
                parts.append(f"{group} {percent(weight, 1)} over its {percent(cap, 0)} cap")
    if verdicts.screen is not None:
        excluded = list(verdicts.screen.index[verdicts.screen["verdict"] == "excluded"])
        if excluded:
            parts.append(f"screen excludes {', '.join(excluded)}")
    if verdicts.events:
        parts.append(f"event window{'s' * (len(verdicts.events) != 1)}: "
                     + ", ".join(dict.fromkeys(row[0] for row in verdicts.events)))
    if np.isfinite(verdicts.regime_limit):
        parts.append(f"regime: gross ≤ {percent(verdicts.regime_limit, 0)}")
    for hedge, rows in result.hedges.groupby("hedge", sort=False):
        parts.append(f"hedge {hedge}: {_hedge_summary(rows)}")
    return "; ".join(parts)


def _hedge_summary(rows: pd.DataFrame) -> str:
    first = rows.iloc[0]
    if first["action"] == "wait":
        return f"none now ({first['reason'].removeprefix('timing: ').removesuffix(', no package now')})"
    legs = ", ".join(f"{r.contracts:+,.0f} {r.right} {r.strike:,.2f} to {r.expiry}" for r in rows.itertuples())
    return {"open": "open ", "close": "roll/close ", "hold": "held, "}.get(first["action"], "") + legs


def _shared_reasons(orders: pd.DataFrame) -> list[str]:
    """The parts of the reasons ('; '-separated) that every one of three or more orders gives."""
    if len(orders) < 3:
        return []
    parts = [str(reason).split("; ") for reason in orders["reason"]]
    return [part for part in parts[0] if all(part in other for other in parts[1:])]


def _orders(orders: pd.DataFrame) -> Table:
    """The orders; a reason every order shares is said once, in the title."""
    shared = _shared_reasons(orders)
    rows = [[o.symbol, o.side, f"{o.shares:,.2f}", f"{o.notional:,.0f}",
             f"{percent(o.weight_now, 1)} → {percent(o.weight_after, 1)}", o.rule,
             "; ".join(p for p in str(o.reason).split("; ") if p not in shared) or "—"]
            for o in orders.itertuples(index=False)]
    title = f"Orders ({len(orders)})" + (f", all for: {'; '.join(shared)}" if shared else "")
    return Table(title, ["symbol", "side", "shares", "notional", "weight", "rule", "reason"],
                 rows or [["—", "", "", "", "", "", "no order: every name is where the rules want it"]],
                 [False, False, True, True, True, False, False], key="orders")


def _flags(result: Today, verdicts: _Verdicts, symbol: str, cap: float) -> str:
    """Over (or within the drift band over, which trims nothing between rebalances) or near the cap, the
    screen's verdict, the event windows."""
    caps = _caps(result)
    weight, band = result.book.at[symbol, "weight"], caps.band if caps is not None else 0.0
    flags = ["" if not np.isfinite(cap) else f"over cap, in the {percent(band, 0)} band" if _over(weight, cap)
             and not _over(weight, cap + band) else "over cap" if _over(weight, cap) else "near cap"
             if weight >= NEAR_CAP * cap else ""]
    if verdicts.screen is not None and verdicts.screen.at[symbol, "verdict"] != "passes":
        flags.append(f"screen: {verdicts.screen.at[symbol, 'verdict']}")
    flags += [f"event: {row[2]}" for row in verdicts.events if row[0] == symbol]
    return ", ".join(f for f in flags if f)


def _names(result: Today, verdicts: _Verdicts) -> Table:
    """The names held or ordered, against their caps; past MAX_NAME_ROWS the unflagged, unordered held
    names (smallest first) are summed up in one row."""
    book, name_cap = result.book, _name_caps(result)
    ordered = set(result.orders["symbol"])
    shown = [s for s in book.index if book.at[s, "shares"] > 0 or s in ordered]
    flags = {s: _flags(result, verdicts, s, name_cap[s]) for s in shown}
    quiet = sorted((s for s in shown if not flags[s] and s not in ordered), key=lambda s: book.at[s, "weight"])
    folded = quiet[:max(0, len(shown) - MAX_NAME_ROWS + 1)] if len(shown) > MAX_NAME_ROWS else []
    group_of = {s: g for g, members in result.config.universe.groups.items() for s in reversed(members)}
    rows = [[s, group_of.get(s, ""), percent(book.at[s, "weight"], 1), percent(book.at[s, "weight_after"], 1),
             percent(name_cap[s], 0) if np.isfinite(name_cap[s]) else "—", flags[s]]
            for s in sorted(shown, key=lambda s: -book.at[s, "weight"]) if s not in folded]
    if folded:
        rows.append([f"+{len(folded)} more", "", percent(book.loc[folded, "weight"].sum(), 1),
                     percent(book.loc[folded, "weight_after"].sum(), 1), "",
                     f"each ≤ {percent(book.loc[folded, 'weight'].max(), 1)}, within its cap"])
    return Table(f"Names held or ordered ({len(shown)})", ["symbol", "group", "weight", "after", "cap", "flag"],
                 rows or [["—", "", "", "", "", "nothing held or ordered"]], [False, False, True, True, True, False],
                 key="names")


def _group_weights(result: Today) -> list[tuple[str, float, float, float]]:
    """(capped group, weight now, after the orders, cap) per capped group."""
    caps, book = _caps(result), result.book
    if caps is None:
        return []
    groups = rule_groups(result.config, result.decision.data)
    out = []
    for group, cap in caps.groups.items():
        members = [s for s in groups.get(group, []) if s in book.index]
        out.append((group, book.loc[members, "weight"].sum(), book.loc[members, "weight_after"].sum(), cap))
    return out


def _groups(result: Today, verdicts: _Verdicts) -> Table:
    caps, book = _caps(result), result.book
    rows = [[group, percent(now, 1), percent(after, 1), percent(cap, 0), "over cap" if _over(now, cap)
             else "near cap" if now >= NEAR_CAP * cap else ""] for group, now, after, cap in _group_weights(result)]
    limit = caps.gross_limit() if caps is not None else np.inf
    if np.isfinite(verdicts.regime_limit):
        limit = min(limit, verdicts.regime_limit)
    gross = book["weight"].sum()
    rows.append(["gross", percent(gross, 1), percent(book["weight_after"].sum(), 1),
                 percent(limit, 0) if np.isfinite(limit) else "—",
                 ("over limit" if _over(gross, limit) else "") + (" (regime)" if np.isfinite(verdicts.regime_limit)
                                                                 else "")])
    return Table("Groups and gross", ["group", "weight", "after", "cap", "flag"], rows,
                 [False, True, True, True, False], key="groups")


def _screen_blocks(screen: pd.DataFrame) -> list[Table | str]:
    failing = screen[screen["verdict"] != "passes"]
    text = (f"Financial-health screen: {len(screen) - len(failing)} of {len(screen)} names pass on what was "
            "filed by this close.")
    rows = [[s, r.verdict, r.why] for s, r in failing.iterrows()]
    return [text, Table("Screen: names scaled or excluded (the filing each verdict rests on)",
                        ["symbol", "verdict", "why"], rows or [["—", "", "none"]], [False] * 3, key="screen")]


def _regime_text(verdicts: _Verdicts) -> str:
    if np.isfinite(verdicts.regime_limit):
        return f"Regime: gross exposure capped at {percent(verdicts.regime_limit, 0)} ({verdicts.regime_why})."
    return "Regime: no cap on gross exposure at this close."


def _hedges(hedges: pd.DataFrame) -> Table:
    """The hedge actions; without a leg (every hedge waits) only the hedge, the action and why."""
    legs = bool(hedges["right"].notna().any())
    rows = [[h.hedge, h.action] + ([str(h.right), f"{h.strike:,.2f}", str(h.expiry), f"{h.contracts:+,.0f}"]
                                   if legs and pd.notna(h.right) else [""] * 4 * legs) + [str(h.reason)]
            for h in hedges.itertuples(index=False)]
    columns = ["hedge", "action"] + ["leg", "strike", "expiry", "contracts"] * legs + ["reason"]
    numeric = [False, False] + [False, True, False, True] * legs + [False]
    return Table("Hedges", columns, rows, numeric, key="hedges")
