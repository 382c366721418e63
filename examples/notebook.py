# %% [markdown]
# # rulebook in a notebook
#
# A notebook-style script (the `# %%` cells open as a notebook in Jupyter with jupytext, or in VS Code):
# run the column's config, compare two variants of its name cap, plot the equity curves.
# Run it as a script with `python examples/notebook.py [OUTPUT_FOLDER]`; tests/test_examples.py does.
# The bundled sample data is SYNTHETIC: the numbers illustrate the method, not the market.

# %%
import sys
from pathlib import Path

import rulebook

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "column.yaml"
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("reports") / "notebook-example"

# %% [markdown]
# ## One backtest
# `rulebook.run` returns a `Result` in memory: nothing is written until `result.save(...)`.

# %%
result = rulebook.run(CONFIG)
result  # in a notebook: a compact table of the headline metrics

# %%
print(f"Sharpe {result.metrics['sharpe']:.2f}, max drawdown {result.metrics['max_drawdown']:.1%}, "
      f"{len(result.trades)} fills, {len(result.rules)} rule actions")
result.equity.tail()  # total equity (stock book + hedges), the parts, and the benchmark

# %% [markdown]
# ## Two variants of the name cap, against the base
# The variants block is the same as a config's `variants:`; every variant is validated before anything runs.

# %%
comparison = rulebook.compare(CONFIG, variants={"grid": {"rules.caps.name": [0.06, 0.12]}})
comparison.ranking

# %%
for sentence in comparison.summary["summary"]:
    print(sentence)

# %% [markdown]
# ## Equity curves

# %%
import matplotlib

if __name__ == "__main__" and "ipykernel" not in sys.modules:
    matplotlib.use("Agg")  # a script writes the figure to a file instead of showing it
import matplotlib.pyplot as plt

ax = comparison.equity.plot(figsize=(9, 4), title="column.yaml: total equity by variant (SYNTHETIC sample)")
ax.set_ylabel("equity")
OUT.mkdir(parents=True, exist_ok=True)
ax.figure.savefig(OUT / "equity.png", dpi=100, bbox_inches="tight")
plt.close(ax.figure)
print(f"Figure: {OUT / 'equity.png'}")
