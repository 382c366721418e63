"""The ``report:`` block of a run config: whether `rulebook run` writes reports, and how."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from engine.strict import StrictModel

ReportFormat = Literal["html", "pdf"]


class ReportConfig(StrictModel):
    enabled: bool = Field(True, description="write report.html / report.pdf at the end of `rulebook run`")
    formats: list[ReportFormat] = Field(default_factory=lambda: ["html", "pdf"], min_length=1,
                                        description="which reports to write")
    page_size: Literal["A4", "Letter"] = Field("A4", description="PDF page size")
    log_scale: bool = Field(False, description="equity chart on a logarithmic axis")
