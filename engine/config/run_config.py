"""Run configuration: YAML in, validated pydantic models out.

Every model forbids unknown keys, so a typo ("fee_bps") fails loudly with the
key's path instead of silently running with a default. Errors are raised as
ConfigError naming the file, the dotted path of the bad key and the fix.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
from pathlib import Path
from collections.abc import Iterable
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo

from engine.config.yaml_file import read_yaml
from engine.data.calendar import calendar_names, known_calendar
from engine.errors import ConfigError
from engine.config.event_study import EventStudyConfig
from engine.config.hedges import Hedges
from engine.config.report import ReportConfig
from engine.config.scenarios import ScenarioSet
from engine.strict import StrictModel
from engine.config.variants import VariantsConfig
from strategies.registry import rules_model, weighting_union

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DATA_DIR = PROJECT_ROOT / "data" / "sample"


class DataConfig(StrictModel):
    """Where the Parquet dataset is and how it is aligned to sessions."""

    dir: Path | None = Field(None, description="dataset folder; relative paths are relative to the config file; "
                             "empty = the bundled synthetic sample")
    calendar: str = Field("XNYS", description="pandas-market-calendars name of the exchange calendar")
    max_fill_sessions: int = Field(3, ge=0, description="longest per-symbol gap of missing sessions that is "
                                   "forward-filled (and reported); longer gaps are an error")

    @field_validator("calendar")
    @classmethod
    def _known_calendar(cls, name: str) -> str:
        if not known_calendar(name):
            close = difflib.get_close_matches(name, calendar_names(), n=3)
            raise ValueError(f"unknown exchange calendar; did you mean {', '.join(close) or 'XNYS'}?")
        return name


class PeriodConfig(StrictModel):
    start: dt.date | None = Field(None, description="first session considered (default: first in the data)")
    end: dt.date | None = Field(None, description="last session considered (default: last in the data)")

    @model_validator(mode="after")
    def _ordered(self) -> "PeriodConfig":
        if self.start and self.end and self.start >= self.end:
            raise ValueError(f"start {self.start} is not before end {self.end}")
        return self


class UniverseConfig(StrictModel):
    symbols: list[str] = Field(min_length=1, description="tickers traded by the strategy")
    groups: dict[str, list[str]] = Field(default_factory=dict, description="named groups of symbols "
                                         "(theme, sector) for group rules and reports")

    @field_validator("symbols")
    @classmethod
    def _unique(cls, symbols: list[str]) -> list[str]:
        dupes = sorted({s for s in symbols if symbols.count(s) > 1})
        if dupes:
            raise ValueError(f"listed more than once: {', '.join(dupes)}")
        return symbols

    @model_validator(mode="after")
    def _groups_within_universe(self) -> "UniverseConfig":
        for name, members in self.groups.items():
            outside = [s for s in members if s not in self.symbols]
            if outside:
                raise ValueError(f"group '{name}' has symbols not in universe.symbols: {', '.join(outside)}")
        return self


class ExecutionConfig(StrictModel):
    """How decisions become fills: always after the decision session."""

    fill: Literal["next_open", "next_close"] = Field("next_open", description="a decision taken at the close of t "
                                                     "fills at the open or the close of t+1")
    fees_bps: float = Field(5.0, ge=0, description="fee on traded notional, basis points")
    slippage_bps: float = Field(5.0, ge=0, description="fill price moved against the trade, basis points")
    min_trade_weight: float = Field(0.0, ge=0, lt=1, description="rebalance band: skip trades that move a "
                                    "name's weight by less than this")
    init_cash: float = Field(1_000_000.0, gt=0, description="starting cash")
    size_at: Literal["decision", "fill"] = Field("decision", description="decision: share counts and the band "
                                                 "fixed from the decision session's closes and equity (an order "
                                                 "sent the evening before); fill: sized at the fill prices, as bt "
                                                 "and vectorbt's target-percent orders do")


class RunConfig(StrictModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="run name, used in the output folder name")
    description: str = Field("", description="free text, shown in reports")
    data: DataConfig = Field(DataConfig(), description="the dataset (layout in data/README.md)")
    period: PeriodConfig = Field(PeriodConfig(), description="the sessions simulated")
    universe: UniverseConfig = Field(description="what may be traded, and its named groups")
    strategy: weighting_union() | None = Field(None, description="a weighting alone, as a baseline: short for "
                                               "rules: {weighting: ...}, with the keys of rules.weighting (or use rules)",
                                               json_schema_extra={"reference": "rules.weighting"})
    rules: rules_model() | None = Field(None, description="the rule pipeline (or use strategy); every "
                                        "registered rule has a key here (strategies.registry)")
    execution: ExecutionConfig = Field(ExecutionConfig(), description="fills, costs and the rebalance band")
    benchmark: str | None = Field("SPY", description="symbol bought and held as the benchmark; null for none")
    risk_free: float = Field(0.0, description="annual risk-free rate for Sharpe and Sortino, as a fraction")
    event_study: EventStudyConfig = Field(EventStudyConfig(), description="drawdowns around AI announcements")
    report: ReportConfig = Field(ReportConfig(), description="report.html and report.pdf written after a run")
    hedges: Hedges = Field(default_factory=list, description="option overlays priced and paid for beside the "
                           "stock book (hedges.parquet)")
    variants: VariantsConfig | None = Field(None, description="sweeps compared by `rulebook compare` "
                                            "(grid, zip, named); ignored by `rulebook run`")
    scenarios: ScenarioSet | None = Field(None, description="an outlook scored by `rulebook scenarios` "
                                          "(or give its own file with --set); ignored by `rulebook run`")

    @model_validator(mode="after")
    def _one_strategy(self) -> "RunConfig":
        if (self.strategy is None) == (self.rules is None):
            raise ValueError("give exactly one of 'strategy' (a baseline) or 'rules' (the rule pipeline)")
        return self

    @property
    def pipeline(self) -> BaseModel:
        """The rules the pipeline runs: ``rules``, or the baseline ``strategy`` as a weighting alone."""
        return self.rules if self.rules is not None else rules_model()(weighting=self.strategy)


def use_rule_models(rules: type[BaseModel], weighting: Any) -> None:
    """Point RunConfig's ``rules`` and ``strategy`` at the registry's current models (a rule registered
    after import; strategies.registry calls this)."""
    for name, annotation in (("rules", rules | None), ("strategy", weighting | None)):
        RunConfig.model_fields[name] = FieldInfo.merge_field_infos(RunConfig.model_fields[name],
                                                                   annotation=annotation)
    RunConfig.model_rebuild(force=True)


EMPTY_MEANS_DEFAULTS = ("data", "period", "execution", "event_study", "report", "hedges")  # (not benchmark: null)


def load_config(path: Path, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Read, override (dotted keys, e.g. {"period.start": "2020-01-02"}) and validate a YAML config."""
    path = Path(path)
    return validate_raw(read_mapping(path), str(path), path, overrides)


ConfigSource = Path | str | dict | RunConfig


def config_from(source: ConfigSource, overrides: dict[str, Any] | None = None) -> RunConfig:
    """A validated config from a YAML path, a plain dict or a RunConfig, with dotted-key overrides.

    Relative paths in a YAML file are relative to the file; in a dict or model, to the working folder."""
    return validate_raw(*raw_config(source), overrides)


def raw_config(source: ConfigSource) -> tuple[dict, str, Path]:
    """(the config as a plain, editable tree, the name errors cite, the path relative paths resolve
    against) of a YAML path, a dict or a model."""
    if isinstance(source, (str, Path)):
        return read_mapping(Path(source)), str(source), Path(source)
    if isinstance(source, RunConfig):
        return source.model_dump(mode="json", by_alias=True), f"<config {source.name}>", Path.cwd() / "<config>"
    if isinstance(source, dict):
        return copy.deepcopy(source), "<dict>", Path.cwd() / "<dict>"
    raise ConfigError("<config>", "<root>", f"a config is a YAML path, a dict or a RunConfig, not "
                      f"{type(source).__name__}", "pass e.g. 'configs/column.yaml'")


def read_mapping(path: Path) -> dict:
    """The YAML mapping of a config file (engine.config.yaml_file's safe reader); anything else is a
    ConfigError naming the file."""
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(path, "<file>", "the config must be a mapping of keys", "see configs/minimal.yaml")
    return raw


def validate_raw(raw: dict, label: str | Path, anchor: Path, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Validate a config tree (after overrides); relative paths resolve against ``anchor``'s folder."""
    raw = copied_along(raw, overrides or {})
    for section in EMPTY_MEANS_DEFAULTS:
        if section in raw and raw[section] is None:  # `period:` with nothing under it
            del raw[section]
    for dotted, value in (overrides or {}).items():
        set_dotted(raw, dotted, value, label)
    try:
        config = RunConfig.model_validate(raw)
    except ValidationError as exc:
        raise config_error(label, exc) from None
    check_references(config, label)
    return resolve_paths(config, anchor)


def copied_along(raw: dict, overrides: Iterable[str]) -> dict:
    """``raw`` with its top level and the mappings and lists on every override's path copied, the rest
    shared: enough for set_dotted to leave ``raw`` intact (validation reads the tree and never writes it;
    deep copies were most of expanding a thousand variants)."""
    tree = dict(raw)
    for dotted in overrides:
        node = tree
        for key in dotted.split(".")[:-1]:
            if isinstance(node, dict) and isinstance(node.get(key), (dict, list)):
                node[key] = copy.copy(node[key])
                node = node[key]
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node) \
                    and isinstance(node[int(key)], (dict, list)):
                node[int(key)] = copy.copy(node[int(key)])
                node = node[int(key)]
            else:
                break  # set_dotted creates or refuses the rest
    return tree


def check_references(config: RunConfig, path: Path | str) -> None:
    """Names one part of a config gives that another part must define: caps on tickers of the
    universe, on groups of universe.groups (data-defined groups are checked once the data is loaded)."""
    caps = getattr(config.rules, "caps", None)
    if caps is None:
        return
    for ticker in caps.names:
        if ticker not in config.universe.symbols:
            raise ConfigError(path, f"rules.caps.names.{ticker}", "not a ticker of universe.symbols, so the cap "
                              "would be ignored", "add it to universe.symbols or remove the cap")
    selection = getattr(config.rules, "selection", None)
    data_groups = not config.universe.groups and selection is not None and selection.group_by is not None
    for group in caps.groups if not data_groups else ():
        if group not in config.universe.groups:
            raise ConfigError(path, f"rules.caps.groups.{group}", "not a group of universe.groups",
                              f"use one of: {', '.join(config.universe.groups) or '(none: add universe.groups)'}")


def resolved_data_dir(config: RunConfig) -> Path:
    return config.data.dir if config.data.dir is not None else SAMPLE_DATA_DIR


def to_yaml(config: RunConfig) -> str:
    """The fully resolved config (every default written out), as saved in a run folder, with the
    keys a user writes (``return``, not the Python field name ``return_``)."""
    return yaml.safe_dump(config.model_dump(mode="json", by_alias=True), sort_keys=False)


def resolve_paths(config: RunConfig, config_path: Path) -> RunConfig:
    """``config`` with its relative data folder and events file resolved against ``config_path``'s folder
    (the same object when both are absolute or absent: a sweep resolves a thousand configs)."""
    update = {}
    data_dir = config.data.dir
    if data_dir is not None and not data_dir.is_absolute():
        update["data"] = config.data.model_copy(update={"dir": (config_path.parent / data_dir).resolve()})
    events_file = config.event_study.file
    if events_file is not None and not events_file.is_absolute():
        update["event_study"] = config.event_study.model_copy(
            update={"file": (config_path.parent / events_file).resolve()})
    return config.model_copy(update=update) if update else config


def set_dotted(tree: dict, dotted: str, value: Any, label: str | Path, context: str = "") -> None:
    """Set a dotted path (list items by index: rules.profit_taking.stages.0.gain); missing mappings are
    created. A path through a value or past a list's end is a ConfigError (``context`` prefixes it)."""
    node: Any = tree
    keys = dotted.split(".")
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        if isinstance(node, list):
            if not (key.isdigit() and int(key) < len(node)):
                raise ConfigError(label, dotted, f"{context}'{key}' is not an index of the "
                                  f"{len(node)}-item list at '{'.'.join(keys[:depth])}'", "use 0, 1, ...")
            key = int(key)
        elif not isinstance(node, dict):
            raise ConfigError(label, dotted, f"{context}'{'.'.join(keys[:depth])}' is a value, "
                              "not a section", "check the path against the config reference")
        elif not last and node.get(key) is None:
            node[key] = {}
        if last:
            node[key] = value
        else:
            node = node[key]


def config_error(path: Path, exc: ValidationError) -> ConfigError:
    """One ConfigError: the first problem with its key path, then every other problem."""
    problems = [_describe(err) for err in exc.errors()]
    (where, first), rest = problems[0], problems[1:]
    also = "".join(f"; also '{w}': {text}" for w, text in rest)
    return ConfigError(path, where, first + also)


def _describe(err: dict) -> tuple[str, str]:
    path, _ = _walk(err["loc"])
    where = _dotted(path)
    if err["type"] == "extra_forbidden":
        _, model = _walk(err["loc"][:-1])
        allowed = sorted(model.model_fields) if model else []
        close = difflib.get_close_matches(str(err["loc"][-1]), allowed, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"valid keys here: {', '.join(allowed)}"
        return where, f"unknown key ({hint})"
    message = err["msg"].removeprefix("Value error, ")
    value = err.get("input")
    return where, message if isinstance(value, (dict, list)) else f"{message} (got {value!r})"


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def _walk(loc: tuple) -> tuple[tuple, type[BaseModel] | None]:
    """Follow a pydantic error location through the models: the location a user would
    write (union tags such as 'equal_weight' dropped) and the model found there."""
    models: list[type[BaseModel]] = [RunConfig]
    path = []
    for part in loc:
        tagged = [m for m in models if part in kind_tags(m)]
        if tagged:
            models = tagged
            continue
        path.append(part)
        if isinstance(part, int):
            continue
        field = models[0].model_fields.get(part) if len(models) == 1 else None
        models = models_in(field.annotation) if field else []
    return tuple(path), (models[0] if len(models) == 1 else None)


def models_in(annotation: Any) -> list[type[BaseModel]]:
    """The config models an annotation can hold (through Optional, unions, lists, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in models_in(arg)]


def kind_tags(model: type[BaseModel]) -> tuple[str, ...]:
    """The ``kind`` values that select ``model`` in a discriminated union (a rule may have two spellings)."""
    kind = model.model_fields.get("kind")
    return get_args(kind.annotation) if kind is not None else ()


def kind_tag(model: type[BaseModel]) -> str | None:
    return next(iter(kind_tags(model)), None)
