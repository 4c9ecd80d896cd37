"""Stage-name vocabulary shared by the process analyses (`analytics.bottlenecks`: rework) and the
integrity-risk features (`analytics.integrity`: rework count)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Connection

from etl.schema import stage_roles

#: Stages that mean "returned to the applicant for supplementary material" (补正) in Chinese approval systems;
#: a mapping adds its own source's names with `supplement_stages:` (stored in the stage_roles table).
SUPPLEMENT_STAGES: tuple[str, ...] = ("补正", "补正材料", "材料补正", "补齐补正")


def supplement_stages(conn: Connection) -> tuple[str, ...]:
    """The built-in supplement stages plus those the loaded mappings declared."""
    declared = conn.execute(select(stage_roles.c.stage).where(stage_roles.c.role == "supplement")
                            .order_by(stage_roles.c.stage)).scalars().all()
    return tuple(dict.fromkeys((*SUPPLEMENT_STAGES, *declared)))
