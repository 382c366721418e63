"""Estimate the constants of the synthetic sample from the real data; print engine/data/sample_params.py.

The bundled sample (engine/data/sample.py) imitates the US AI-infrastructure market. Every number it
draws from is estimated here from the real prices in shared/data/raw (see raw/SOURCES.md), so the
synthetic market has the real one's betas, volatilities, clustering, tails, gaps and volumes.

Usage (run once; the output is committed):
    python scripts/estimate_sample_params.py [/path/to/shared/data] > engine/data/sample_params.py

Methods, all deliberately simple:
* factors: MKT = SPY log return; TECH = QQQ residual on SPY; SEMI = SMH residual on SPY and TECH
  (OLS, so the three are uncorrelated in sample). Each name: OLS of its log return on the factors.
* GARCH(1,1): Gaussian quasi-likelihood with variance targeting (omega = var * (1 - a - b)),
  maximised on a 0.01 grid of a in [0.01, 0.25], b in [0.60, 0.98], a + b < 1.
* Student-t degrees of freedom: MLE (scipy.stats.t, loc 0) on the pooled GARCH-standardised residuals.
* jumps: abnormal (factor-model residual) log return on the first tradable session of each real
  event / earnings release, in units of the name's idiosyncratic vol; the jump is what that
  exceeds a unit-variance day: sd = sqrt(var(z) - 1).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pandas_market_calendars as mcal
from scipy import stats
from scipy.signal import lfilter

START, END = "2016-01-04", "2025-12-31"
FACTORS = ("MKT", "TECH", "SEMI")
# symbol: (name, sector, theme)
STOCKS = {
    "NVDA": ("NVIDIA", "Information Technology", "semis"),
    "AMD": ("Advanced Micro Devices", "Information Technology", "semis"),
    "AVGO": ("Broadcom", "Information Technology", "semis"),
    "TSM": ("Taiwan Semiconductor Manufacturing (ADR)", "Information Technology", "semis"),
    "MU": ("Micron Technology", "Information Technology", "semis"),
    "INTC": ("Intel", "Information Technology", "semis"),
    "QCOM": ("Qualcomm", "Information Technology", "semis"),
    "MRVL": ("Marvell Technology", "Information Technology", "semis"),
    "ARM": ("Arm Holdings (ADR)", "Information Technology", "semis"),
    "MSFT": ("Microsoft", "Information Technology", "hyperscaler"),
    "GOOGL": ("Alphabet (Class A)", "Communication Services", "hyperscaler"),
    "AMZN": ("Amazon.com", "Consumer Discretionary", "hyperscaler"),
    "META": ("Meta Platforms", "Communication Services", "hyperscaler"),
    "ORCL": ("Oracle", "Information Technology", "hyperscaler"),
    "CRWV": ("CoreWeave", "Information Technology", "neocloud"),
    "VRT": ("Vertiv Holdings", "Industrials", "power"),
    "CEG": ("Constellation Energy", "Utilities", "power"),
    "GEV": ("GE Vernova", "Industrials", "power"),
    "VST": ("Vistra", "Utilities", "power"),
    "ANET": ("Arista Networks", "Information Technology", "networking"),
    "CSCO": ("Cisco Systems", "Information Technology", "networking"),
    "CIEN": ("Ciena", "Information Technology", "networking"),
    "SMCI": ("Super Micro Computer", "Information Technology", "servers"),
    "DELL": ("Dell Technologies", "Information Technology", "servers"),
    "EQIX": ("Equinix", "Real Estate", "datacenter"),
    "DLR": ("Digital Realty Trust", "Real Estate", "datacenter"),
}
ETFS = {
    "SPY": ("SPDR S&P 500 ETF Trust", "ETF", "etf"),
    "QQQ": ("Invesco QQQ Trust", "ETF", "etf"),
    "SMH": ("VanEck Semiconductor ETF", "ETF", "etf"),
}
# First regular-way session where the raw file starts earlier (when-issued or SPAC-shell history).
LISTING_OVERRIDES = {"CEG": "2022-02-02", "GEV": "2024-04-02", "VRT": "2020-02-07"}
MIN_GARCH_OBS = 500  # shorter histories take the pooled median GARCH parameters


def sessions() -> pd.DatetimeIndex:
    days = mcal.get_calendar("XNYS").valid_days(START, END)
    return pd.DatetimeIndex(days.tz_localize(None).normalize())


def read_series(path: Path, column: str, date_col: str = "Date") -> pd.Series:
    frame = pd.read_csv(path, parse_dates=[date_col])
    return frame.set_index(date_col)[column].astype(float)


def ols(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients (intercept first) and residuals of y on x."""
    design = np.column_stack([np.ones(len(y)), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return coef, y - design @ coef


def garch_variance(e: np.ndarray, a: float, b: float) -> np.ndarray:
    """Conditional variance h_t of a GARCH(1,1) with variance targeting (h_0 = sample variance)."""
    var = e.var()
    drive = var * (1 - a - b) + a * np.concatenate([[var], e[:-1] ** 2])
    return lfilter([1.0], [1.0, -b], drive, zi=[b * var])[0]


def fit_garch(e: np.ndarray) -> tuple[float, float]:
    best, best_ll = (0.05, 0.90), np.inf
    for a in np.arange(0.01, 0.255, 0.01):
        for b in np.arange(0.60, 0.985, 0.01):
            if a + b >= 0.995:
                continue
            h = garch_variance(e, a, b)
            nll = np.sum(np.log(h) + e**2 / h)
            if nll < best_ll:
                best, best_ll = (round(a, 2), round(b, 2)), nll
    return best


def first_session(days: pd.DatetimeIndex, date: pd.Timestamp, strictly_after: bool) -> pd.Timestamp | None:
    i = days.searchsorted(date, side="right" if strictly_after else "left")
    return days[i] if i < len(days) else None


def jump_sd(z: list[float]) -> float:
    return float(np.sqrt(max(np.var(z) - 1.0, 0.0)))


def main(data: Path) -> None:
    raw = data / "raw"
    days = sessions()
    adj = {s: read_series(raw / "prices_adjclose_yahoo" / f"{s}.csv", "Close") for s in [*STOCKS, *ETFS]}
    ret = pd.DataFrame({s: np.log(p).diff() for s, p in adj.items()}).reindex(days)
    listing = {s: pd.Timestamp(LISTING_OVERRIDES.get(s, adj[s].index[0])) for s in STOCKS}
    begin = {s: max(listing.get(s, days[0]), days[0]) for s in [*STOCKS, *ETFS]}  # first row in the window
    for s, first in listing.items():  # first return is the one after the listing session
        ret.loc[ret.index <= max(first, days[0]), s] = np.nan
    ret.iloc[0] = np.nan

    mkt = ret["SPY"].iloc[1:].to_numpy()
    qqq_coef, tech = ols(ret["QQQ"].iloc[1:].to_numpy(), mkt)
    smh_coef, semi = ols(ret["SMH"].iloc[1:].to_numpy(), np.column_stack([mkt, tech]))
    factors = pd.DataFrame({"MKT": mkt, "TECH": tech, "SEMI": semi}, index=days[1:])

    alpha, beta, idio_vol, resid = {}, {}, {}, {}
    for s in STOCKS:
        y = ret[s].dropna()
        coef, e = ols(y.to_numpy(), factors.loc[y.index].to_numpy())
        alpha[s], beta[s], idio_vol[s] = coef[0], coef[1:], e.std()
        resid[s] = pd.Series(e, index=y.index)

    factor_garch = {f: fit_garch(factors[f].to_numpy() - factors[f].mean()) for f in FACTORS}
    idio_garch = {s: fit_garch(e.to_numpy()) for s, e in resid.items() if len(e) >= MIN_GARCH_OBS}
    pooled = tuple(float(np.median([g[i] for g in idio_garch.values()])) for i in (0, 1))
    idio_garch = {s: idio_garch.get(s, pooled) for s in STOCKS}

    def standardised(e: np.ndarray, ab: tuple[float, float]) -> np.ndarray:
        return e / np.sqrt(garch_variance(e, *ab))

    z_fac = np.concatenate([standardised(factors[f].to_numpy() - factors[f].mean(), factor_garch[f]) for f in FACTORS])
    z_idio = np.concatenate([standardised(resid[s].to_numpy(), idio_garch[s]) for s in STOCKS])
    nu_factor = stats.t.fit(z_fac, floc=0)[0]
    nu_idio = stats.t.fit(z_idio, floc=0)[0]

    # Event jumps: real AI events; day 0 = first tradable session (post / closed: the next one).
    events = pd.read_csv(data / "events" / "ai_events.csv", parse_dates=["date"])
    events = events[events["date"] <= END]
    event_z, event_days = [], set()
    for row in events.itertuples():
        day0 = first_session(days, row.date, strictly_after=row.session in ("post", "closed"))
        for s in str(row.symbols).split(";") if isinstance(row.symbols, str) else []:
            if s in resid and day0 in resid[s].index and (s, day0) not in event_days:
                event_days.add((s, day0))
                event_z.append(resid[s][day0] / idio_vol[s])
    # Earnings jumps: real release dates (all released after the close -> next session).
    fund = pd.read_csv(data / "fundamentals" / "fundamentals_q.csv", parse_dates=["released"])
    releases = {(r.symbol, r.released) for r in fund.dropna(subset=["released"]).itertuples()}
    releases |= {(s, r.date) for r in events[events["kind"] == "earnings"].itertuples() for s in str(r.symbols).split(";")}
    earn_z = []
    for s, released in sorted(releases):
        day0 = first_session(days, released, strictly_after=True)
        if s in resid and day0 in resid[s].index:
            earn_z.append(resid[s][day0] / idio_vol[s])

    # OHLC shape and volume from the as-traded files (names without one take the pooled median).
    gap_beta, gap_noise, wick, dv_start, dv_end, vol_dev, vol_absz = {}, {}, {}, {}, {}, [], []
    for s in [*STOCKS, *ETFS]:
        path = raw / "prices_ohlcv_yahoo" / f"{s}.csv"
        if not path.exists():
            continue
        px = pd.read_csv(path, parse_dates=["Date"]).set_index("Date").loc[begin[s] : END]
        r = np.log(px["Close"]).diff()
        g = np.log(px["Open"] / px["Close"].shift())
        ok = r.notna()
        gap_beta[s] = float(np.cov(g[ok], r[ok])[0, 1] / r[ok].var())
        gap_noise[s] = float((g[ok] - gap_beta[s] * r[ok]).std() / r[ok].std())
        top, bottom = px[["Open", "Close"]].max(axis=1), px[["Open", "Close"]].min(axis=1)
        wicks = (np.log(px["High"] / top) + np.log(bottom / px["Low"])) / 2
        wick[s] = float(wicks.mean() / r.std())
        dollar = px["Close"] * px["Volume"]
        dv_start[s], dv_end[s] = float(dollar.iloc[:250].median()) / 1e6, float(dollar.iloc[-250:].median()) / 1e6
        log_dv = np.log(dollar[dollar > 0])
        dev = (log_dv - log_dv.rolling(61, center=True).mean()).reindex(r.index)
        absz = (r.abs() / r.rolling(60).std().shift()).reindex(r.index)
        both = dev.notna() & absz.notna()
        vol_dev.append(dev[both].to_numpy())
        vol_absz.append(absz[both].to_numpy())
    dev_all, absz_all = np.concatenate(vol_dev), np.concatenate(vol_absz)
    vol_slope = float(np.polyfit(absz_all, dev_all, 1)[0])
    vol_sd = float((dev_all - vol_slope * (absz_all - absz_all.mean())).std())
    for table in (gap_beta, gap_noise, wick, dv_start, dv_end):
        fallback = float(np.median([table[s] for s in STOCKS if s in table]))
        for s in [*STOCKS, *ETFS]:
            table.setdefault(s, fallback)

    start_price = {}
    for s in [*STOCKS, *ETFS]:
        path = raw / "prices_ohlcv_yahoo" / f"{s}.csv"
        traded = read_series(path, "Close") if path.exists() else adj[s]
        start_price[s] = float(traded.loc[begin[s] :].iloc[0])

    dividends = {}
    for s in [*STOCKS, *ETFS]:
        path = raw / "prices_ohlcv_yahoo" / f"{s}_dividends.csv"
        if not path.exists():
            continue
        div = read_series(path, "Dividend").loc[START:END]
        if len(div) < 4:
            continue
        close = read_series(raw / "prices_ohlcv_yahoo" / f"{s}.csv", "Close").loc[START:END]
        yearly = div.groupby(div.index.year).sum() / close.groupby(close.index.year).mean()
        full_years = yearly.loc[div.index.year.min() + 1 : div.index.year.max() - 1]
        dividends[s] = (float((full_years if len(full_years) else yearly).median()), div.index[0], div.index[-1])

    # Market series: VIX vs the GARCH-forecast SPY vol; DGS10 mean-reverting; HY OAS vs VIX.
    h_mkt = garch_variance(factors["MKT"].to_numpy() - factors["MKT"].mean(), *factor_garch["MKT"])
    fwd_vol = pd.Series(100 * np.sqrt(252 * h_mkt), index=days[1:]).shift(-1).dropna()
    vix = read_series(raw / "vix" / "vix-daily.csv", "CLOSE", "DATE").reindex(fwd_vol.index).dropna()
    vix_coef, vix_res = ols(vix.to_numpy(), fwd_vol.loc[vix.index].to_numpy())
    vix_ar_coef, vix_innov = ols(vix_res[1:], vix_res[:-1])
    dgs = read_series(raw / "rates_fred" / "DGS10.csv", "DGS10", "date").reindex(days).ffill()
    dy = dgs.diff().iloc[1:]
    dgs_coef, dgs_innov = ols(dy.to_numpy(), np.column_stack([dgs.iloc[:-1].to_numpy(), factors["MKT"].to_numpy()]))
    oas = read_series(raw / "rates_fred" / "BAMLH0A0HYM2.csv", "BAMLH0A0HYM2", "date").loc[:END]
    vix_full = read_series(raw / "vix" / "vix-daily.csv", "CLOSE", "DATE").reindex(oas.index).ffill()
    oas_coef, oas_res = ols(oas.to_numpy(), vix_full.to_numpy())
    oas_ar_coef, oas_innov = ols(oas_res[1:], oas_res[:-1])

    emit(locals())


def fmt(table: dict, digits: int = 4) -> str:
    def one(v):
        if isinstance(v, (tuple, list, np.ndarray)):
            return "(" + ", ".join(one(x) for x in v) + ")"
        if isinstance(v, pd.Timestamp):
            return repr(v.strftime("%Y-%m-%d"))
        if isinstance(v, str):
            return repr(v)
        return f"{float(v):.{digits}g}"

    rows = "".join(f"    {k!r}: {one(v)},\n" for k, v in table.items())
    return "{\n" + rows + "}"


def emit(v: dict) -> None:
    f = v["factors"]
    out = f'''"""Constants of the synthetic sample, estimated from the real data in shared/data.

GENERATED by scripts/estimate_sample_params.py (read its docstring for the methods); do not edit by
hand: re-run `python scripts/estimate_sample_params.py > engine/data/sample_params.py`.
Window {START} .. {END} (or from a name's listing). Returns are daily log returns of the
split+dividend-adjusted closes in raw/prices_adjclose_yahoo unless said otherwise.
"""

FACTORS = {FACTORS!r}
# symbol: (name, sector, theme)
STOCKS = {fmt(STOCKS)}
ETFS = {fmt(ETFS)}
# Names listed after {START}: first session with a row = first date of raw/prices_adjclose_yahoo/<SYM>.csv,
# or the regular-way listing where the file starts earlier (CEG, GEV when-issued; VRT's SPAC shell).
LISTING = {fmt({s: d for s, d in v["listing"].items() if d > pd.Timestamp(START)})}
# Annualised vol (sqrt(252) * sd of daily log returns) of the real series, for checking the sample.
REAL_ANNUAL_VOL = {fmt((v["ret"].std() * np.sqrt(252)).to_dict(), 3)}

# Daily mean of each factor (MKT = SPY log return; TECH, SEMI are OLS residuals, mean 0).
FACTOR_MEAN = {fmt(dict(zip(FACTORS, f.mean())), 6)}
# Daily standard deviation of each factor.
FACTOR_VOL = {fmt(dict(zip(FACTORS, f.std())), 6)}
# GARCH(1,1) (alpha, beta) of each factor; variance-targeted Gaussian QMLE on a 0.01 grid.
FACTOR_GARCH = {fmt(v["factor_garch"])}
# Student-t degrees of freedom of the pooled GARCH-standardised factor shocks (MLE).
NU_FACTOR = {v["nu_factor"]:.3g}
# ETFs from the factors: QQQ = a + b*MKT + TECH; SMH = a + b1*MKT + b2*TECH + SEMI (OLS, exact
# by construction); (intercept, beta MKT, beta TECH, beta SEMI). SPY is MKT itself.
ETF_LOADINGS = {{
    "SPY": (0.0, 1.0, 0.0, 0.0),
    "QQQ": ({v["qqq_coef"][0]:.6g}, {v["qqq_coef"][1]:.4g}, 1.0, 0.0),
    "SMH": ({v["smh_coef"][0]:.6g}, {v["smh_coef"][1]:.4g}, {v["smh_coef"][2]:.4g}, 1.0),
}}
# Daily tracking noise added to the ETFs (illustrative, not estimated: the real ETFs define the factors).
ETF_TRACKING_VOL = 0.0005

# Per stock: daily alpha (OLS intercept) of its log return on the three factors.
ALPHA = {fmt(v["alpha"], 3)}
# Per stock: OLS betas on (MKT, TECH, SEMI).
BETA = {fmt(v["beta"])}
# Per stock: daily standard deviation of the OLS residual (idiosyncratic vol).
IDIO_VOL = {fmt(v["idio_vol"])}
# Per stock: GARCH(1,1) (alpha, beta) of the residual; fewer than {MIN_GARCH_OBS} obs -> pooled median.
IDIO_GARCH = {fmt(v["idio_garch"])}
# Student-t degrees of freedom of the pooled GARCH-standardised idiosyncratic shocks (MLE).
NU_IDIO = {v["nu_idio"]:.3g}

# Jumps, in units of the name's IDIO_VOL: mean and sd of the abnormal move beyond a normal day.
# Events: {len(v["event_z"])} (symbol, day-0) pairs from events/ai_events.csv (<= {END}).
EVENT_JUMP_MEAN = {np.mean(v["event_z"]):.3g}
EVENT_JUMP_SD = {jump_sd(v["event_z"]):.3g}
# Earnings: {len(v["earn_z"])} real releases (fundamentals_q.csv `released` + events kind=earnings), next session.
EARNINGS_JUMP_SD = {jump_sd(v["earn_z"]):.3g}

# OHLC shape from raw/prices_ohlcv_yahoo (names without a file: median over the stocks).
# Overnight gap log(open/prev close) = GAP_BETA * close-to-close return + noise.
GAP_BETA = {fmt(v["gap_beta"], 3)}
# sd of that noise / sd of the close-to-close return.
GAP_NOISE = {fmt(v["gap_noise"], 3)}
# Mean wick (log(high/max(open,close)) and log(min(open,close)/low), averaged) / return sd.
WICK = {fmt(v["wick"], 3)}
# Median daily dollar volume, USD millions: first and last 250 sessions of the window.
DOLLAR_VOLUME_START = {fmt(v["dv_start"], 4)}
DOLLAR_VOLUME_END = {fmt(v["dv_end"], 4)}
# Pooled: log dollar volume deviation from its 61-day centred mean = slope * |return|/vol + noise.
VOLUME_ABS_Z_SLOPE = {v["vol_slope"]:.3g}
VOLUME_LOG_SD = {v["vol_sd"]:.3g}

# First as-traded (split-adjusted) close in the window or at listing, USD.
START_PRICE = {fmt(v["start_price"], 5)}
# Dividend payers: (annual yield = median over full years of dividends / mean close,
# first ex-date, last ex-date in the window), from raw/prices_ohlcv_yahoo/<SYM>_dividends.csv.
DIVIDENDS = {fmt(v["dividends"], 3)}

# ---- Fundamentals: ILLUSTRATIVE assumptions, NOT estimated (no complete real statements are stored). ----
# Quarterly revenue (USD m) at 2025-09-30 = REVENUE_PER_DOLLAR_VOLUME * DOLLAR_VOLUME_END: size follows trading.
REVENUE_PER_DOLLAR_VOLUME = 1.0
# theme: (annual revenue growth, operating margin, total debt / annual revenue, cash / annual revenue,
#         capex / revenue, average coupon on debt); quarterly noise is REVENUE_NOISE.
FUNDAMENTAL_PROFILE = {{
    "semis": (0.15, 0.28, 0.30, 0.25, 0.08, 0.040),
    "hyperscaler": (0.12, 0.30, 0.30, 0.35, 0.15, 0.035),
    "neocloud": (0.90, 0.03, 3.00, 0.20, 1.40, 0.090),
    "power": (0.08, 0.14, 0.70, 0.08, 0.06, 0.045),
    "networking": (0.09, 0.25, 0.25, 0.40, 0.03, 0.040),
    "servers": (0.12, 0.07, 0.40, 0.10, 0.02, 0.050),
    "datacenter": (0.10, 0.20, 1.00, 0.05, 0.35, 0.040),
}}
# Per-name overrides: NVDA's margin and debt are far from its theme's (interest coverage stays > 20x).
PROFILE_OVERRIDES = {{"NVDA": (0.35, 0.45, 0.12, 0.30, 0.03, 0.035)}}
# The ORCL-like stressed name: its profile moves linearly from CALM to STRESSED over STRESS_WINDOW,
# so interest coverage falls from > 8x (early 2023) to < 3x (2025); capex / revenue 0.10 -> 0.75.
STRESSED_NAME = "ORCL"
STRESS_WINDOW = ("2023-01-01", "2025-12-31")
STRESS_CALM = (0.06, 0.35, 0.50, 0.15, 0.10, 0.040)
STRESS_STRESSED = (0.10, 0.22, 2.60, 0.10, 0.75, 0.060)
REVENUE_NOISE = 0.03
# Filing lags (days after quarter end): earnings release, 10-Q filed after the release, 10-K (Q4).
RELEASE_LAG_DAYS = (20, 35)
TEN_Q_EXTRA_DAYS = (0, 8)
TEN_K_LAG_DAYS = (55, 75)

# VIX = a + b * GARCH one-day-ahead SPY vol (annualised, %) + AR(1) residual (phi, innovation sd).
VIX_MODEL = ({v["vix_coef"][0]:.4g}, {v["vix_coef"][1]:.4g}, {v["vix_ar_coef"][1]:.4g}, {v["vix_innov"].std():.4g})
# DGS10 daily change = c + k * previous level + m * MKT + noise: (c, k, m, noise sd); start level.
DGS10_MODEL = ({v["dgs_coef"][0]:.4g}, {v["dgs_coef"][1]:.4g}, {v["dgs_coef"][2]:.4g}, {v["dgs_innov"].std():.4g})
DGS10_START = {v["dgs"].iloc[0]:.4g}
# HY OAS (ICE BofA, %) = a + b * VIX + AR(1) residual (phi, innovation sd); fitted 2023-08..{END[:7]}.
HY_OAS_MODEL = ({v["oas_coef"][0]:.4g}, {v["oas_coef"][1]:.4g}, {v["oas_ar_coef"][1]:.4g}, {v["oas_innov"].std():.4g})
'''
    sys.stdout.write(out)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "data")
