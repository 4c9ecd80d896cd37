"""Stage-name vocabulary shared by the process analyses (`analytics.bottlenecks`: rework) and the
integrity-risk features (`analytics.integrity`: rework count)."""
from __future__ import annotations

#: Stages that mean "returned to the applicant for supplementary material" (补正); configurable.
SUPPLEMENT_STAGES: tuple[str, ...] = ("补正", "补正材料", "材料补正", "补齐补正")
