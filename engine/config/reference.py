"""The config reference, generated from the config models so it cannot drift from them.

README.md holds its output between markers; tests/test_docs.py checks they agree.
Regenerate with `python -m engine.config.reference`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from engine.config.run_config import RunConfig, kind_tag, models_in

START, END = "<!-- config-reference:start -->", "<!-- config-reference:end -->"


def reference_rows(model: type[BaseModel] = RunConfig, prefix: str = "") -> list[tuple[str, str, str]]:
    """(key, default, meaning) for every key a user can write, in declaration order."""
    rows: list[tuple[str, str, str]] = []
    for name, field in model.model_fields.items():
        key = prefix + (field.alias or name)
        nested = models_in(field.annotation)
        if (field.json_schema_extra or {}).get("reference"):  # documented under another key
            rows.append((key, _default(field), field.description or ""))
        elif nested:
            rows.append((key, _default(field), field.description or ""))
            for inner in nested:
                tag = kind_tag(inner)
                for row in reference_rows(inner, key + "."):
                    if row[0] == key + ".kind":
                        continue
                    meaning = f"({tag}) {row[2]}" if tag and not row[0].endswith(".rebalance") else row[2]
                    if row not in rows and (row[0], row[1]) not in {(r[0], r[1]) for r in rows}:
                        rows.append((row[0], row[1], meaning))
            tags = [tag for tag in map(kind_tag, nested) if tag]
            if tags:
                rows.append((key + ".kind", "required", "one of " + ", ".join(f"`{t}`" for t in tags)))
        else:
            rows.append((key, _default(field), field.description or ""))
    return rows


def _default(field: Any) -> str:
    if field.is_required():
        return "required"
    value = field.default_factory() if field.default is PydanticUndefined else field.default
    if isinstance(value, BaseModel):
        return "see below"
    return f"`{value!r}`" if value not in (None, "", [], {}) else ("—" if value is None else f"`{value!r}`")


def markdown() -> str:
    lines = ["| key | default | meaning |", "|---|---|---|"]
    lines += [f"| `{key}` | {default} | {meaning} |" for key, default, meaning in reference_rows()]
    return "\n".join([START, *lines, END])


if __name__ == "__main__":
    print(markdown())
