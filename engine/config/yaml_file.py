"""Read a user's YAML file (config, scenario set) safely: every failure is a ConfigError naming the file.

- A path that is a folder, missing, unreadable or not UTF-8 is named as such.
- A value PyYAML cannot build (``2016-02-30`` is read as a date) names its key and line.
- Aliases are counted before anything is built: a document whose aliases expand to more than
  MAX_VALUES values (an "alias bomb" that would grow to gigabytes in validation) is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from engine.errors import ConfigError

MAX_VALUES = 100_000  # values in the document once every alias is expanded


class _BadValue(Exception):
    def __init__(self, node: yaml.Node, problem: str):
        super().__init__(problem)
        self.node, self.problem = node, problem


class _Loader(yaml.SafeLoader):
    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as error:
            raise _BadValue(node, f"'{node.value}' is not a date ({error})") from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def read_yaml(path: Path, what: str = "config file") -> Any:
    """The document in ``path`` as Python values (None for an empty file)."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(path, "<file>", f"is a folder, not a {what}", f"give the path of a YAML {what}")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, "<file>", f"{what} not found", "check the path") from None
    except UnicodeDecodeError:
        raise ConfigError(path, "<file>", "not UTF-8 text", "save it as UTF-8 YAML") from None
    except OSError as error:
        raise ConfigError(path, "<file>", f"cannot be read ({error.strerror})", "check its permissions") from None
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        size = _expanded_size(root, {})
        if size > MAX_VALUES:
            raise ConfigError(path, "<file>", f"its aliases expand to {size:,} values, more than the {MAX_VALUES:,} "
                              "a config may hold (an alias bomb?); nothing was built",
                              "write the values out or use fewer nested aliases")
        return loader.construct_document(root)
    except yaml.YAMLError as error:
        raise ConfigError(path, "<file>", f"not valid YAML ({' '.join(str(error).split())})",
                          "fix the YAML syntax at the line shown") from None
    except _BadValue as error:
        where = _key_path(root, error.node) or "<file>"
        line = error.node.start_mark.line + 1
        raise ConfigError(path, where, f"line {line}: {error.problem}", "write dates as real YYYY-MM-DD dates") from None
    finally:
        loader.dispose()


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """Values in the subtree with every alias expanded, counted on the shared node graph (linear time).

    Recursion is bounded by the nesting depth of the text; the count saturates past the limit."""
    key = id(node)
    if key not in memo:
        memo[key] = 1  # a (malformed) cycle counts once instead of recursing forever
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            children = []
        total = 1
        for child in children:
            total = min(total + _expanded_size(child, memo), MAX_VALUES + 1)
        memo[key] = total
    return memo[key]


def _key_path(node: yaml.Node, target: yaml.Node, prefix: str = "") -> str | None:
    """Dotted key path of ``target`` below ``node`` (list items by index), as a user writes it."""
    if node is target:
        return prefix
    if isinstance(node, yaml.MappingNode):
        items = [(str(key.value), value) for key, value in node.value]
    elif isinstance(node, yaml.SequenceNode):
        items = [(str(index), value) for index, value in enumerate(node.value)]
    else:
        return None
    for name, child in items:
        found = _key_path(child, target, f"{prefix}.{name}" if prefix else name)
        if found is not None:
            return found
    return None
