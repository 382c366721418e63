"""`rulebook today --report`: the rule check is one page (A4 and Letter, sample and real data, a full book),
says what the decision says (orders, screen verdicts), and its HTML needs nothing from outside the file."""

from __future__ import annotations

import dataclasses
import re
from html import unescape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4, LETTER
from test_today import CONFIG, backtest, write_inputs  # noqa: F401 (backtest is a fixture)

from engine.config.run_config import load_config
from engine.run.run_data import load_run_data
from engine.practice import rule_check as rc
from engine.practice.holdings import read_holdings
from engine.practice.rule_check_page import render_pdf, write_rule_check
from engine.practice.today import today
from engine.report.model import Table

ROOT = Path(__file__).resolve().parents[1]
DAY = "2024-12-31"  # a month end in the year-end window: a rebalance of a book holding every listed name


def full_book(tmp: Path, config, day: str, shares: float = 400.0, cash: float = 50_000.0) -> Path:
    """Every name of the universe that trades on ``day`` held (no avg_cost: today says what it assumed)."""
    close = load_run_data(config).close.loc[pd.Timestamp(day), config.universe.symbols]
    path = tmp / "book.csv"
    rows = [f"{symbol},{shares}" for symbol in close.dropna().index]
    path.write_text("symbol,shares\n" + "\n".join(rows + [f"CASH,{cash}"]) + "\n")
    return path


def pdf_pages(path: Path) -> list:
    return PdfReader(str(path)).pages


def html_rows(html: str, key: str) -> list[list[str]]:
    table = html.split(f'<table id="{key}">')[1].split("</table>")[0]
    return [[unescape(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", table) if "<td" in row]


@pytest.mark.parametrize("page_size, size", [("A4", A4), ("Letter", LETTER)])
def test_a_full_book_on_a_rebalance_fits_one_page(tmp_path, page_size, size):
    config = load_config(CONFIG)
    result = today(config, read_holdings(full_book(tmp_path, config, DAY)), date=pd.Timestamp(DAY))
    assert len(result.orders) >= 20 and result.book["shares"].gt(0).sum() == 25  # a long sheet, were it not fitted
    html, pdf = write_rule_check(result, tmp_path / "orders", page_size)
    pages = pdf_pages(pdf)
    assert len(pages) == 1
    assert [float(v) for v in pages[0].mediabox[2:]] == pytest.approx(list(size), abs=0.01)
    text = pages[0].extract_text()
    for order in result.orders.itertuples():
        assert f"{order.shares:,.2f}" in text
    rows = html_rows(html.read_text(), "orders")
    assert [(r[0], r[1], r[2]) for r in rows] == [(o.symbol, o.side, f"{o.shares:,.2f}")
                                                   for o in result.orders.itertuples()]


def test_the_page_shrinks_rather_than_run_over(tmp_path):
    """The guard: a sheet far longer than a page (200 order rows) still prints on one page."""
    config = load_config(CONFIG)
    result = today(config, read_holdings(full_book(tmp_path, config, DAY)), date=pd.Timestamp(DAY))
    check = rc.rule_check(result)
    rows = check.orders.rows * (200 // len(check.orders.rows) + 1)
    long = dataclasses.replace(check, orders=dataclasses.replace(check.orders, rows=rows[:200]))
    render_pdf(long, tmp_path / "long.pdf")
    assert len(pdf_pages(tmp_path / "long.pdf")) == 1
    assert "MRVL" in pdf_pages(tmp_path / "long.pdf")[0].extract_text()


def test_past_the_row_limit_quiet_names_are_summed_up(tmp_path, monkeypatch):
    """Past MAX_NAME_ROWS the smallest names that are neither ordered nor flagged fold into one row."""
    config = load_config(CONFIG)
    result = today(config, read_holdings(full_book(tmp_path, config, "2024-12-20", shares=10.0, cash=5e6)),
                   date=pd.Timestamp("2024-12-20"))  # not a rebalance: few orders, most names quiet
    every = {row[0]: row for row in rc.rule_check(result).left[0].rows}
    monkeypatch.setattr(rc, "MAX_NAME_ROWS", 10)
    table = rc.rule_check(result).left[0]
    assert len(table.rows) == 10 and table.rows[-1][0] == f"+{25 - 9} more"
    shown = [row[0] for row in table.rows[:-1]]
    folded = [s for s in every if s not in shown]
    quiet = [s for s, row in every.items() if not row[5] and s not in set(result.orders["symbol"])]
    assert set(folded) <= set(quiet)
    assert result.book.loc[folded, "weight"].max() <= result.book.loc[[s for s in quiet if s in shown], "weight"].min()
    assert table.rows[-1][2] == f"{result.book.loc[folded, 'weight'].sum():.1%}"


def test_screen_verdicts_and_orders_are_the_decisions(backtest, tmp_path):
    """At 2022-12-20 the page's orders are today's (the backtest's, tests/test_today.py), its excluded names
    are names the backtest holds none of, and each verdict rests on a filing known by that close."""
    day = pd.Timestamp("2022-12-20")
    holdings, state = write_inputs(tmp_path, backtest, day)
    config, run, _ = backtest
    result = today(config, read_holdings(holdings), date=day, state_path=state)
    html, pdf = write_rule_check(result, tmp_path / "orders")
    page = html.read_text()
    screen = {row[0]: row for row in html_rows(page, "screen")}
    assert set(screen) == {"SMCI", "DELL"}
    held_by_backtest = run.strategy.positions.loc[day]
    assert (held_by_backtest[list(screen)] == 0).all()
    for row in screen.values():
        filed = pd.Timestamp(re.search(r"filed (\d{4}-\d\d-\d\d)", row[2]).group(1))
        assert row[1] == "excluded" and filed <= day
    headline = page.split('<div class="headline">')[1].split("</div>")[0]
    assert headline.startswith(f"{len(result.orders)} orders;") and "screen excludes SMCI, DELL" in unescape(headline)
    names = {row[0]: row for row in html_rows(page, "names")}
    assert set(names) == set(result.book.index[result.book["shares"] > 0]) | set(result.orders["symbol"])
    groups = {row[0]: row for row in html_rows(page, "groups")}
    semis = result.book.loc[config.universe.groups["semis"], "weight"].sum()
    assert groups["semis"][1] == f"{semis:.1%}" and groups["semis"][4] == "over cap"  # the drift trims' cause
    assert len(pdf_pages(pdf)) == 1


def test_the_html_needs_nothing_from_outside(tmp_path):
    config = load_config(CONFIG)
    result = today(config, read_holdings(full_book(tmp_path, config, DAY)), date=pd.Timestamp(DAY))
    html = write_rule_check(result, tmp_path / "orders")[0].read_text()
    for outside in ("<script", "<link", "<img", "<iframe", "src=", "href=", "url(", "@import", "http://",
                    "https://"):
        assert outside not in html.lower()
    assert "SYNTHETIC SAMPLE DATA" in html


def test_on_the_real_data_the_sheet_is_one_page(shared_data, tmp_path):
    from golden_runs import readme_dataset

    mine = readme_dataset(shared_data, tmp_path / "mine")
    config = load_config(ROOT / "configs" / "column_real.yaml", {"data.dir": str(mine)})
    result = today(config, read_holdings(full_book(tmp_path, config, "2025-04-30", shares=300.0)),
                   date=pd.Timestamp("2025-04-30"))
    assert len(result.orders) >= 20
    for page_size in ("A4", "Letter"):
        html, pdf = write_rule_check(result, tmp_path / page_size, page_size)
        assert len(pdf_pages(pdf)) == 1
    assert "timing: VIX" in result.hedges["reason"].iloc[0] and np.isfinite(rc._verdicts(result).regime_limit)


def test_a_hedge_its_timing_rule_holds_back_says_the_vol_and_its_rank(tmp_path):
    """2022-06-30 (sample): a monthly hedge session with no package held and the VIX high. The reason
    gives the VIX and its rank among the last 252 closes, counted here by hand (ties at half)."""
    config = load_config(CONFIG)
    day = pd.Timestamp("2022-06-30")
    result = today(config, read_holdings(full_book(tmp_path, config, str(day.date()))), date=day)
    (hedge,) = result.hedges.itertuples()
    vix = result.decision.data.market["VIX"].ffill().loc[:day].to_numpy()[-252:]
    rank = ((vix < vix[-1]).sum() + ((vix == vix[-1]).sum() + 1) / 2) / 252
    assert rank > 0.5 and hedge.action == "wait"
    assert hedge.reason == f"timing: VIX {vix[-1]:.1f} at the {100 * rank:.0f}th percentile of 252 sessions > 50th, " \
                           "no package now"
    assert rc.rule_check(result).headline.endswith(
        f"hedge spy_puts: none now (VIX {vix[-1]:.1f} at the {100 * rank:.0f}th percentile of 252 sessions > 50th)")


def test_a_name_over_its_cap_but_within_the_drift_band_is_flagged_so_and_not_trimmed(tmp_path):
    """Between rebalances caps_drift trims a name only past its cap + band (8% + 1%): at 8.5% the page says
    so and there is no order for it; at 9.5% it is over, and trimmed back to the cap."""
    config = load_config(CONFIG)
    day = pd.Timestamp("2024-12-20")
    close = load_run_data(config).close.loc[day]
    equity = 1_000_000.0
    path = tmp_path / "book.csv"
    avgo, msft = float(0.085 * equity / close["AVGO"]), float(0.095 * equity / close["MSFT"])
    path.write_text(f"symbol,shares\nAVGO,{avgo!r}\nMSFT,{msft!r}\nCASH,{0.82 * equity!r}\n")
    result = today(config, read_holdings(path), date=day)
    flags = {row[0]: row[5] for row in rc.rule_check(result).left[0].rows}
    assert flags["AVGO"] == "over cap, in the 1% band" and flags["MSFT"] == "over cap"
    orders = result.orders.set_index("symbol")
    assert "AVGO" not in orders.index and orders.at["MSFT", "side"] == "sell"
    assert orders.at["MSFT", "weight_after"] == pytest.approx(0.08, abs=1e-3)
