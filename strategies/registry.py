"""Strategy names a config may use, mapped to the classes that implement them."""

from __future__ import annotations

from strategies.baseline import BuyAndHold, EqualWeight, InverseVolatility

STRATEGIES: dict[str, type] = {
    "buy_and_hold": BuyAndHold,
    "equal_weight": EqualWeight,
    "inverse_volatility": InverseVolatility,
}
