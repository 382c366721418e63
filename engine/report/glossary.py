"""How each number in the report is computed: the glossary section, linked from the metrics tables.

One entry per metric: what it is, the formula, and the convention where peers differ.
Annualisation everywhere uses ppy, the mean number of sessions per year of the run's
exchange calendar (not 252), so the figures match metrics.json.
"""

from __future__ import annotations

from engine.report.model import Paragraph, Section, Table

# key: (term, definition and formula, convention)
GLOSSARY: dict[str, tuple[str, str, str]] = {
    "total_return": ("Total return", "last equity / first equity - 1", "after fees and slippage; dividends reinvested"),
    "cagr": ("CAGR", "(1 + total return) ^ (ppy / n) - 1, n = sessions - 1", "compounded, exchange-calendar years"),
    "volatility": ("Volatility", "std(r) x sqrt(ppy), r = simple session returns", "sample std (ddof 1)"),
    "sharpe": ("Sharpe", "mean(r - rf) / std(r - rf) x sqrt(ppy)", "rf = config risk_free per session; empyrical"),
    "sortino": ("Sortino", "mean(r) x ppy / (sqrt(mean(min(r, 0)^2)) x sqrt(ppy))",
                "target 0; downside deviation over all sessions (empyrical, quantstats)"),
    "max_drawdown": ("Max drawdown", "deepest fall of equity from its running high", "on session closes"),
    "max_drawdown_sessions": ("Max drawdown length", "sessions from that drawdown's peak to its recovery",
                              "or to the last session if not recovered"),
    "calmar": ("Calmar", "CAGR / |max drawdown|", "over the whole run (not the last 36 months)"),
    "hit_rate": ("Hit rate", "share of up sessions among sessions with a non-zero return", "flat sessions left out"),
    "best_day": ("Best / worst day", "largest and smallest session return", "close to close"),
    "var_95": ("VaR 95% (daily)", "5th percentile of session returns", "historical, linear interpolation (empyrical); "
               "quantstats' value_at_risk is parametric (normal)"),
    "cvar_95": ("CVaR 95% (daily)", "mean of the session returns at or below the VaR", "historical (empyrical)"),
    "skew": ("Skew", "third standardised moment of session returns", "bias-corrected sample skew (pandas, quantstats)"),
    "kurtosis": ("Kurtosis", "fourth standardised moment - 3 (excess)", "bias-corrected (pandas, quantstats); normal = 0"),
    "best_month": ("Best / worst month, year", "compounded return of each calendar month (year)",
                   "from month-end closes; the first from the first close"),
    "positive_months": ("Positive months", "share of months with a gain among months with a non-zero return",
                        "quantstats win_rate on monthly returns"),
    "avg_up_month": ("Average up / down month", "mean of the positive (negative) monthly returns", "quantstats avg_win / avg_loss"),
    "time_invested": ("Time invested", "share of session closes holding any position",
                      "from weights; quantstats' exposure counts sessions with a non-zero return"),
    "trailing": ("Trailing returns", "last close / last close before the cut-off - 1 (MTD: month start; YTD: "
                 "year start; 3M ... 5Y: months before the last session)",
                 "3Y and 5Y annualised as growth ^ (ppy / sessions), none if the run is shorter"),
    "turnover": ("Turnover", "sum |traded value| / 2 / mean equity, per year", "one-way"),
    "exposure": ("Exposure", "mean of the gross weight sum |w| at each close", "fraction of equity"),
    "beta": ("Beta", "cov(r, b) / var(b)", "population moments on paired session returns (empyrical)"),
    "alpha": ("Alpha", "(1 + mean((r - rf) - beta (b - rf))) ^ ppy - 1", "compounded annual (empyrical), not x ppy"),
    "correlation": ("Correlation", "Pearson correlation of r and b", "paired session returns"),
    "tracking_error": ("Tracking error", "std(r - b) x sqrt(ppy)", "annualised, ddof 1"),
    "information_ratio": ("Information ratio", "mean(r - b) x ppy / tracking error", "annualised"),
    "active_return": ("Active return", "CAGR - benchmark CAGR", "per year"),
    "rolling": ("Rolling statistics", "the metric over the trailing six months (ppy / 2 sessions) at each close",
                "Sharpe and Sortino as above; beta with population moments"),
    "ci": ("Confidence intervals", "95% intervals", "event study: clustered by event date (events on one day "
           "count once); variants: stationary bootstrap of the Sharpe difference"),
}


def anchor(key: str) -> str:
    return f"glossary-{key}"


def glossary_section() -> Section:
    rows = [[term, definition, convention] for term, definition, convention in GLOSSARY.values()]
    return Section("glossary", "Glossary: how each number is computed", [
        Paragraph("r: the strategy's simple session returns (close to close); b: the benchmark's on the same "
                  "sessions; rf: the annual risk_free of the config per session; ppy: mean sessions per year of "
                  "the exchange calendar."),
        Table("Definitions", ["Metric", "Definition", "Convention"], rows, [False, False, False], key="glossary",
              anchors=tuple(anchor(key) for key in GLOSSARY)),
    ])
