"""Event rules: act on names in the news for a window of sessions (after weighting).

Reads ``events`` (``kind``, ``symbols``, ``title``, ``date``, ``confidence``,
``session_date``). An event's window starts on its ``session_date`` row, the
first session at whose close the news is known (news after the close acts from
the next session; the engine fills the decision a session later), and lasts
``sessions`` sessions. The rule hits the event's own symbols (``match: named``)
or also every member of a group holding one of them (``named_and_group``); an
event naming no symbol hits nobody. Sets a multiplier frame (``scale`` -> x
scale, ``exit`` -> 0, ``block_buys`` -> 1 plus a ``no_buy`` mask); where windows
overlap the smallest multiplier wins and its event gives the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from engine.errors import DataError
from engine.strict import StrictModel
from strategies.rule_types import Rule, RuleContext, RuleOutput

EVENT_KINDS = ("deal", "license", "capex", "earnings", "regulatory", "policy", "macro", "shock")
CONFIDENCE_LEVELS = ("low", "medium", "high")
TITLE_CHARS = 40


class EventRuleConfig(StrictModel):
    kinds: list[str] = Field(min_length=1, description=f"event kinds the rule acts on: {', '.join(EVENT_KINDS)}")
    match: Literal["named", "named_and_group"] = Field("named", description="the event's own symbols, or also "
                                                       "every symbol in a group with one of them")
    action: Literal["scale", "exit", "block_buys"] = Field("scale", description="scale the weight, exit the "
                                                           "name, or only block new buying")
    scale: float = Field(0.5, ge=0, le=1, description="multiplier for action: scale")
    sessions: int = Field(10, ge=1, description="window length in sessions, from the event's first tradable "
                          "session")
    min_confidence: Literal["low", "medium", "high"] | None = Field(None, description="ignore events whose "
                                                                    "`confidence` is below this; null = all")
    title_contains: str | None = Field(None, min_length=1, description="only events whose title contains this "
                                       "text (case-insensitive)")

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, kinds: list[str]) -> list[str]:
        unknown = [k for k in kinds if k not in EVENT_KINDS]
        if unknown:
            raise ValueError(f"unknown event kinds {', '.join(unknown)}; use any of {', '.join(EVENT_KINDS)}")
        return kinds

    def build(self) -> "EventRule":
        return EventRule.from_config(self)


@dataclass(frozen=True)
class EventRule:
    kinds: tuple[str, ...]
    match: str = "named"
    action: str = "scale"
    scale: float = 0.5
    sessions: int = 10
    min_confidence: str | None = None
    title_contains: str | None = None

    @classmethod
    def from_config(cls, cfg: EventRuleConfig) -> "EventRule":
        return cls(**cfg.model_dump() | {"kinds": tuple(cfg.kinds)})

    @property
    def excludes(self) -> bool:
        """An exit acts as an exclusion: the name out from the session it is known to the next rebalance."""
        return self.action == "exit"

    @property
    def multiplier(self) -> float:
        return {"scale": self.scale, "exit": 0.0, "block_buys": 1.0}[self.action]

    def apply(self, ctx: RuleContext) -> RuleOutput:
        n, columns = len(ctx.sessions), {s: j for j, s in enumerate(ctx.symbols)}
        values = np.ones((n, len(columns)))
        reasons = np.full((n, len(columns)), "", dtype=object)
        blocked = np.zeros((n, len(columns)), dtype=bool)
        for event in self._matching_events(ctx).itertuples(index=False):
            hit = [columns[s] for s in self._hit_symbols(event.symbols, ctx.groups) if s in columns]
            rows = self._window(ctx.sessions, event.session_date)
            if not hit or rows.start >= rows.stop:
                continue
            cells = (rows, hit)
            blocked[cells] |= self.action == "block_buys"
            wins = values[cells] >= self.multiplier  # ties: the later event explains the window
            reasons[cells] = np.where(wins, self._reason(event), reasons[cells])
            values[cells] = np.minimum(values[cells], self.multiplier)
        frame = ctx.frame
        return RuleOutput(frame(values), frame(reasons).astype(object),
                          frame(blocked) if self.action == "block_buys" else None)

    def _matching_events(self, ctx: RuleContext) -> pd.DataFrame:
        events = ctx.data.events
        if events.empty:
            return events
        keep = events["kind"].isin(self.kinds)
        if self.min_confidence is not None:
            if "confidence" not in events.columns:
                raise DataError("events.parquet", "confidence", "min_confidence is set but events have no "
                                "confidence column", "add the column (low/medium/high) or drop min_confidence")
            rank = events["confidence"].map({c: i for i, c in enumerate(CONFIDENCE_LEVELS)})
            keep &= rank >= CONFIDENCE_LEVELS.index(self.min_confidence)
        if self.title_contains is not None:
            keep &= events["title"].str.contains(self.title_contains, case=False, regex=False, na=False)
        return events[keep]

    def _hit_symbols(self, symbols: str, groups: dict[str, list[str]]) -> set[str]:
        named = {s.strip() for s in str(symbols).split(";") if s.strip()}
        if self.match == "named":
            return named
        return named.union(*(members for members in groups.values() if named & set(members)))

    def _window(self, sessions: pd.DatetimeIndex, session_date: pd.Timestamp) -> slice:
        """Rows of the window; one that opened before the first session keeps only what is left of it."""
        start = int(sessions.searchsorted(session_date))
        if start == 0 and session_date < sessions[0]:  # weekdays approximate the sessions already gone
            elapsed = int(np.busday_count(session_date.date(), sessions[0].date()))
            return slice(0, max(self.sessions - elapsed, 0))
        return slice(start, min(start + self.sessions, len(sessions)))

    def _reason(self, event) -> str:
        title = str(event.title)
        title = title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1] + "…"
        effect = {"scale": f"×{self.scale:g}", "exit": "exit", "block_buys": "no new buying"}[self.action]
        return f"{event.kind} {event.date:%Y-%m-%d} '{title}' → {effect} for {self.sessions} sessions"


RULES = (Rule("events", "overlay", EventRuleConfig, "news rules on the events calendar",
              {"kinds": ["regulatory", "shock"], "action": "scale", "scale": 0.5}, many=True, log_name="event",
              needs_kernel=lambda block: block.action == "block_buys"),)
