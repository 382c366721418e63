"""Run configuration: YAML in, validated pydantic models out, variants expanded."""
