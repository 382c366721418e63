"""Event rules: windows from the first tradable session, matching, actions, filters, overlaps, no look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from data_builders import write_events, write_random_dataset
from engine.data.loader import load_dataset
from engine.errors import DataError
from rule_data import context, event, make_dataset, perturbed_after, random_dataset
from strategies.event_rules import EVENT_KINDS, EventRuleConfig

SESSIONS = pd.bdate_range("2024-06-03", periods=20)
GROUPS = {"semis": ["NVDA", "AMD"], "cloud": ["MSFT"]}


def news(*rows: dict):
    close = pd.DataFrame(100.0, index=SESSIONS, columns=["NVDA", "AMD", "MSFT"])
    return make_dataset(close, events=pd.DataFrame(list(rows)))


def apply(data, **config):
    return EventRuleConfig(**config).build().apply(context(data, GROUPS))


def test_a_window_starts_on_the_session_date_and_lasts_the_configured_sessions():
    data = news(event("2024-06-05", "2024-06-06", "regulatory", "NVDA;MSFT",
                      title="NYT: DOJ and FTC agree to split AI antitrust probes", session="unknown"))
    out = apply(data, kinds=["regulatory"], sessions=3)
    window = SESSIONS.isin(pd.to_datetime(["2024-06-06", "2024-06-07", "2024-06-10"]))
    expected = pd.DataFrame({"NVDA": np.where(window, 0.5, 1.0), "AMD": 1.0, "MSFT": np.where(window, 0.5, 1.0)},
                            index=SESSIONS)
    pd.testing.assert_frame_equal(out.values, expected)
    assert out.reasons.loc["2024-06-06", "NVDA"] == (
        "regulatory 2024-06-05 'NYT: DOJ and FTC agree to split AI anti…' → ×0.5 for 3 sessions")
    assert (out.reasons["AMD"] == "").all() and (out.reasons.loc["2024-06-11":] == "").all().all()
    assert out.no_buy is None


def test_named_and_group_also_hits_every_member_of_a_named_symbols_group():
    data = news(event("2024-06-04", "2024-06-04", "shock", "NVDA;OWL"))  # OWL is outside the universe
    out = apply(data, kinds=["shock"], match="named_and_group", action="exit", sessions=2)
    assert out.values.loc["2024-06-04":"2024-06-05"].to_dict("list") == {"NVDA": [0, 0], "AMD": [0, 0],
                                                                        "MSFT": [1, 1]}
    assert out.values.drop(pd.to_datetime(["2024-06-04", "2024-06-05"])).eq(1).all().all()


def test_block_buys_keeps_weights_and_masks_new_buying():
    data = news(event("2024-06-10", "2024-06-10", "policy", "AMD", title="export rule"))
    out = apply(data, kinds=["policy"], action="block_buys", sessions=2)
    assert (out.values == 1.0).all().all()
    assert out.no_buy["AMD"].tolist() == [False] * 5 + [True] * 2 + [False] * 13
    assert not out.no_buy[["NVDA", "MSFT"]].any().any()
    assert out.reasons.loc["2024-06-11", "AMD"] == "policy 2024-06-10 'export rule' → no new buying for 2 sessions"


def test_overlapping_windows_merge_and_the_later_event_explains_the_overlap():
    data = news(event("2024-06-03", "2024-06-03", "deal", "MSFT", title="first"),
                event("2024-06-05", "2024-06-05", "deal", "MSFT", title="second"))
    out = apply(data, kinds=["deal"], scale=0.25, sessions=4)
    assert out.values["MSFT"].tolist() == [0.25] * 6 + [1.0] * 14  # rows 0-3 and 2-5
    assert out.reasons["MSFT"].str.contains("'first'").tolist() == [True] * 2 + [False] * 18
    assert out.reasons["MSFT"].str.contains("'second'").sum() == 4


def test_kind_confidence_and_title_filters_select_events():
    data = news(event("2024-06-03", "2024-06-03", "deal", "NVDA", title="Stargate JV", confidence="medium"),
                event("2024-06-03", "2024-06-03", "deal", "AMD", title="OpenAI GPU deal", confidence="low"),
                event("2024-06-03", "2024-06-03", "earnings", "MSFT", title="Stargate capex", confidence="high"))
    hit = lambda **cfg: sorted(c for c in ["NVDA", "AMD", "MSFT"] if apply(data, **cfg).values[c].lt(1).any())
    assert hit(kinds=["deal"]) == ["AMD", "NVDA"]
    assert hit(kinds=["deal"], min_confidence="medium") == ["NVDA"]
    assert hit(kinds=["deal", "earnings"], title_contains="stargate") == ["MSFT", "NVDA"]


def test_unknown_kinds_are_rejected_with_the_vocabulary():
    with pytest.raises(ValidationError, match="unknown event kinds merger; use any of " + ", ".join(EVENT_KINDS)):
        EventRuleConfig(kinds=["deal", "merger"])


def test_min_confidence_without_a_confidence_column_names_the_column():
    data = news(event("2024-06-03", "2024-06-03", "deal", "NVDA"))
    data = make_dataset(data.close, events=data.events.drop(columns="confidence"))
    with pytest.raises(DataError, match=r"events.parquet, column 'confidence'"):
        apply(data, kinds=["deal"], min_confidence="high")


def test_a_window_opened_before_the_data_keeps_only_its_remaining_sessions():
    # The window opens on Friday 2024-05-31; the data starts on Monday 06-03: two of its three sessions remain.
    data = news(event("2024-05-31", "2024-05-31", "shock", "NVDA"))
    out = apply(data, kinds=["shock"], action="exit", sessions=3)
    assert out.values["NVDA"].tolist() == [0.0, 0.0] + [1.0] * 18


def test_news_after_the_close_acts_from_the_next_session(tmp_path):
    write_random_dataset(tmp_path, symbols=("NVDA", "AMD"), start="2024-09-02", end="2024-09-30")
    write_events(tmp_path, pd.DataFrame({
        "date": pd.to_datetime(["2024-09-03", "2024-09-05"]), "session": ["post", "pre"],
        "kind": ["regulatory", "regulatory"], "symbols": ["NVDA", "AMD"], "title": ["subpoena", "probe"],
        "amount_usd_bn": [np.nan, np.nan], "source": ["x", "x"]}))
    data = load_dataset(tmp_path)
    out = EventRuleConfig(kinds=["regulatory"], sessions=2).build().apply(context(data))
    nvda = out.values["NVDA"]
    assert nvda.loc["2024-09-03"] == 1.0  # known only after the close of 09-03
    assert nvda.loc["2024-09-04":"2024-09-05"].tolist() == [0.5, 0.5] and nvda.loc["2024-09-06"] == 1.0
    assert out.values["AMD"].loc["2024-09-05":"2024-09-06"].tolist() == [0.5, 0.5]  # pre-market: same session
    assert out.values["AMD"].loc["2024-09-04"] == 1.0


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(20, 60), cutoff_fraction=st.floats(0, 0.95),
       kinds=st.lists(st.sampled_from(EVENT_KINDS), min_size=1, max_size=4, unique=True),
       match=st.sampled_from(["named", "named_and_group"]), action=st.sampled_from(["scale", "exit", "block_buys"]),
       sessions=st.integers(1, 15))
def test_events_acting_after_a_session_never_change_earlier_rows(seed, n, cutoff_fraction, kinds, match, action,
                                                                sessions):
    data = random_dataset(seed, n)
    cutoff = int(cutoff_fraction * (n - 1))
    rule = EventRuleConfig(kinds=kinds, match=match, action=action, sessions=sessions).build()
    groups = {"x": ["A", "B"], "y": ["C"]}
    before = rule.apply(context(data, groups))
    after = rule.apply(context(perturbed_after(data, cutoff, seed), groups))
    for field in ("values", "reasons", "no_buy"):
        first, second = getattr(before, field), getattr(after, field)
        assert (first is None and second is None) or first.iloc[: cutoff + 1].equals(second.iloc[: cutoff + 1])
