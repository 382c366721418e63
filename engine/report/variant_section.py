"""The variant comparison in the report (files of `rulebook compare`): ranking, the equity of the
base, best and worst variants, a heatmap over two swept parameters, and what the deflated Sharpe
ratio and the probability of backtest overfitting say about this run, in words."""

from __future__ import annotations


import pandas as pd

from engine.report.model import Chart, Paragraph, Section
from engine.run.folder import RunFolder
from engine.report.sections import frame_table
from engine.config.report import ReportConfig

TOP_ROWS = 20
STATISTICS = {"rank", "sharpe_diff", "diff_lower", "diff_upper", "beats_base", "psr", "dsr", "verdict"}
RATIOS = ("sharpe", "sortino", "calmar", "information_ratio")


def variants_section(run: RunFolder, settings: ReportConfig) -> Section | None:
    variants = run.optional.get("variants")
    if variants is None:
        return None
    metric_columns = [name for name in variants.columns if name in run.metrics]
    label = next((name for name in ("variant", "name") if name in variants.columns), None)
    params = [name for name in variants.columns if name not in metric_columns and name != label
              and name not in STATISTICS and not pd.api.types.is_bool_dtype(variants[name])]
    rank_by = "sharpe" if "sharpe" in variants.columns else (metric_columns or [variants.columns[-1]])[0]
    ranked = variants.sort_values(rank_by, ascending=False, kind="stable")
    blocks = [Paragraph(" ".join(luck_words(run, ranked, label, rank_by))),
              frame_table(f"Variants ranked by {rank_by} (top {TOP_ROWS})",
                          _ranking(ranked.head(TOP_ROWS), label, params), key="variants_ranking"),
              Paragraph(_significance_words(variants, label))]
    curves = _base_best_worst(run, ranked, label)
    if curves is not None:
        blocks.insert(1, curves)
    numeric_params = [name for name in params if pd.api.types.is_numeric_dtype(variants[name])
                      and variants[name].nunique() > 1]
    if len(numeric_params) >= 2:
        rows, columns = numeric_params[:2]
        on_grid = variants
        base = variants[variants[label] == "base"] if label else variants.iloc[:0]
        if len(numeric_params) > 2 and len(base):  # the other parameters at the base's values
            on_grid = variants[(variants[numeric_params[2:]] == base[numeric_params[2:]].iloc[0]).all(axis=1)]
        grid = on_grid.pivot_table(index=rows, columns=columns, values=rank_by, aggfunc="mean")
        grid.index, grid.columns = [str(v) for v in grid.index], [str(v) for v in grid.columns]
        others = ", the other parameters as in the base" if len(numeric_params) > 2 and len(base) else ""
        blocks.insert(2, Chart("variants_heatmap", f"{rank_by} by {_short(rows)} (rows) and {_short(columns)}{others}",
                               "heatmap", grid, _short(rows), percent=rank_by not in RATIOS, x_label=_short(columns),
                               diverging=False, height=0.3 + 0.08 * len(grid)))
    return Section("variants", "Variant comparison", blocks)


def _short(path: str) -> str:
    return path.removeprefix("rules.")


def _last_key(override: str) -> str:
    """'caps.name=0.1' → 'name=0.1' (a named variant's name is kept)."""
    if "=" not in override:
        return override
    key, value = override.split("=", 1)
    return f"{key.rsplit('.', 1)[-1]}={value}"


def _ranking(ranked: pd.DataFrame, label: str | None, params: list[str]) -> pd.DataFrame:
    """The ranking table: short names, the Sharpe difference's interval and the verdict in a few words."""
    table = pd.DataFrame(index=ranked.index)
    if label:
        table["variant"] = [", ".join(_last_key(part) for part in name.split(","))
                            for name in ranked[label].astype(str)]  # grid names: last key of each override
    for name in params:
        table[name.rsplit(".", 1)[-1]] = ranked[name]
    for name in ("sharpe", "cagr", "max_drawdown", "dsr"):
        if name in ranked.columns:
            table[name] = ranked[name]
    if {"diff_lower", "diff_upper", "dsr"} <= set(ranked.columns):
        from engine.analysis.variant_stats import verdict_label  # scipy: loaded for a sweep's report only

        known = ranked["diff_lower"].notna() & ranked["diff_upper"].notna() & (
            ranked[label] != "base" if label else True)
        table["Sharpe vs base (95% CI)"] = [f"{low:+.2f} to {high:+.2f}" if ok else "" for low, high, ok in
                                            zip(ranked["diff_lower"], ranked["diff_upper"], known)]
        table["verdict"] = [verdict_label(low, high, dsr) if ok else "the base" for low, high, dsr, ok in
                            zip(ranked["diff_lower"], ranked["diff_upper"], ranked["dsr"], known)]
    return table


def luck_words(run: RunFolder, ranked: pd.DataFrame, label: str | None, rank_by: str) -> list[str]:
    """The deflated Sharpe ratio of the best variant and the PBO of the sweep, one sentence each."""
    sentences = []
    best = ranked.iloc[0]
    name = best[label] if label else "the best variant"
    if "dsr" in ranked.columns and pd.notna(best.get("dsr")):
        sentences.append(
            f"With {len(ranked)} variants tried, a best {rank_by} of {best[rank_by]:.2f} ({name}) is what luck alone "
            f"would give {1 - float(best['dsr']):.0%} of the time: its deflated Sharpe ratio is {float(best['dsr']):.2f}, "
            "the probability that its true Sharpe is above zero once the number of variants tried is allowed for.")
    pbo = (run.statistics or {}).get("pbo")
    if pbo is not None:
        sentences.append(
            f"Probability of backtest overfitting {float(pbo):.0%}: splitting the sessions into halves every way, the "
            f"variant that ranked best on one half ranked below the median on the other {float(pbo):.0%} of the time "
            "(50% is what choosing at random gives).")
    return sentences


def _base_best_worst(run: RunFolder, ranked: pd.DataFrame, label: str | None) -> Chart | None:
    equity = run.optional.get("variant_equity")
    if equity is None or label is None:
        return None
    names = list(dict.fromkeys([name for name in ("base", ranked[label].iloc[0], ranked[label].iloc[-1])
                                if name in equity.columns]))
    if not names:
        return None
    roles = {"base": "base", ranked[label].iloc[0]: "best", ranked[label].iloc[-1]: "worst"}
    curves = equity[names].rename(columns={name: f"{roles[name]}: {name}" if name != "base" else "base"
                                           for name in names})
    return Chart("variant_equity", "Equity of the base, the best and the worst variant", "lines", curves,
                 "portfolio value (USD)", money=True)


def _significance_words(variants: pd.DataFrame, label: str | None) -> str:
    """What the bootstrap says, in words; the per-variant verdict column (if any) is in the ranking table."""
    if "beats_base" not in variants.columns:
        return "variants.parquet carries no significance test, so no variant is claimed to beat the base config."
    winners = variants[variants["beats_base"].fillna(False).astype(bool)]
    if winners.empty:
        return f"None of the {len(variants)} variants has a Sharpe ratio reliably above the base config's."
    names = ", ".join(winners[label].astype(str)) if label else f"{len(winners)} variants"
    return (f"{len(winners)} of {len(variants)} variants have a bootstrap interval of the Sharpe difference above "
            f"zero against the base config: {names}. See each variant's verdict for whether that survives the "
            "number of variants tried (deflated Sharpe).")
