"""Stop-loss: sell part of a name whose close falls ``loss`` below its average cost (path-dependent).

On a held name, at session t (on the close of t-1): when close / average cost - 1 <= -loss
(the cost includes slippage and fees, on the simulated total-return prices) the rule sells
the fraction ``sell`` of the shares held, once per holding: the name is then capped at the
shares left until it is flat again, so a rebalance cannot buy back what the stop sold. With
``sell: 1`` the name is exited and ``reentry`` governs when buying may start again.
"""

from __future__ import annotations

from pydantic import Field

from engine.strict import StrictModel
from engine.sim.rule_layout import LogCode, State, StatefulRule, columns
from strategies.reentry import ReentryConfig, reentry_values
from strategies.rule_types import Rule

PARAMS = ("loss", "sell", "cooldown", "pullback")
LOSS, SELL, COOLDOWN, PULLBACK = columns(PARAMS, 1)
FIRED, BASE = range(2)  # state: the stop fired in this holding, shares held when it fired
STOPPED, CAPPED = range(2)  # log codes


class StopLossConfig(StrictModel):
    loss: float = Field(0.10, gt=0, lt=1, description="fall of the close below the average cost that fires "
                        "the stop, e.g. 0.10")
    sell: float = Field(1.0, gt=0, le=1, description="fraction of the position sold when it fires (1 = exit)")
    reentry: ReentryConfig | None = Field(None, description="after a full stop-loss exit, no buying until this "
                                          "holds; null = buy again at once")


def _values(cfg: StopLossConfig, symbols: list[str]) -> dict:
    return {"loss": cfg.loss, "sell": cfg.sell, **reentry_values(cfg.reentry)}


STOP_LOSS = StatefulRule(
    "stop_loss", "exit", PARAMS, (State("fired", unit="flag", meaning="the stop fired in this holding"),
                                     State("base", unit="shares", meaning="shares held when it fired")),
    (LogCode("stop_loss", "close {a:+.1%} from the average cost {b:.2f}: sell {move}"),
     LogCode("stop_loss", "target capped at what the stop-loss left: {move}")),
    "strategies.steps.stop_loss:stop_loss_step", _values)

RULES = (Rule("stop_loss", "path", StopLossConfig, "sell a name whose close falls below its average cost",
              {"loss": 0.08, "sell": 1.0, "reentry": {"cooldown": 5}}, kernel=STOP_LOSS),)
