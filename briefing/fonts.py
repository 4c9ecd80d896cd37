"""The briefing's fonts: the customary 公文 fonts (GB/T 9704-2012) by role, and for each the East Asian fonts that
stand in for it where it is not installed — one table for the DOCX (named fonts, `w:altName` in its font table),
the PDF/HTML (CSS font stacks) and docs/operations.md.

GB/T 9704: 标题 2号方正小标宋简体; 正文 3号仿宋_GB2312; 一级标题 黑体, 二级标题 楷体_GB2312, 三级/四级 仿宋;
页码 4号半角宋体. The open Noto CJK fonts (Debian fonts-noto-cjk) end every list, so a Linux machine renders the
briefing with Noto Serif CJK SC for the serif roles (小标宋 / 仿宋 / 楷体) and Noto Sans CJK SC for 黑体.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    """One typographic role: the customary font, its stand-ins (most alike first), the generic family, size in pt
    (the Chinese 号: 二号 22, 三号 16, 四号 14, 五号 10.5) and weight."""

    font: str
    substitutes: tuple[str, ...]
    generic: str
    size: float
    bold: bool = False
    alt: str = ""          # the DOCX font table's w:altName: what Word takes when `font` is absent (a system font)


SERIF_OPEN, SANS_OPEN = "Noto Serif CJK SC", "Noto Sans CJK SC"

ROLES: dict[str, Role] = {
    # 标题: 方正小标宋简体 二号
    "title": Role("方正小标宋简体", ("FZXiaoBiaoSong-B05S", "华文中宋", "STZhongsong", "宋体", "SimSun",
                                  "Source Han Serif SC", SERIF_OPEN), "serif", 22, True, "宋体"),
    # 发文机关标志 (红头): the same face, larger
    "organ": Role("方正小标宋简体", ("FZXiaoBiaoSong-B05S", "华文中宋", "STZhongsong", "宋体", "SimSun",
                                  "Source Han Serif SC", SERIF_OPEN), "serif", 26, True, "宋体"),
    # 正文: 仿宋_GB2312 三号
    "body": Role("仿宋_GB2312", ("仿宋", "FangSong", "STFangsong", "Source Han Serif SC", SERIF_OPEN), "serif", 16,
                 alt="仿宋"),
    # 一级标题: 黑体 三号
    "h1": Role("黑体", ("SimHei", "STHeiti", "Source Han Sans SC", SANS_OPEN), "sans-serif", 16, alt="SimHei"),
    # 二级标题: 楷体_GB2312 三号
    "h2": Role("楷体_GB2312", ("楷体", "KaiTi", "STKaiti", "AR PL UKai CN", "Source Han Serif SC", SERIF_OPEN),
               "serif", 16, alt="楷体"),
    # tables and notes: the body face, 五号 / 小五
    "table": Role("仿宋_GB2312", ("仿宋", "FangSong", "STFangsong", "Source Han Serif SC", SERIF_OPEN), "serif", 10.5,
                  alt="仿宋"),
    # 密级 mark: 黑体 三号
    "mark": Role("黑体", ("SimHei", "STHeiti", "Source Han Sans SC", SANS_OPEN), "sans-serif", 16, alt="SimHei"),
}
#: The Latin font beside each East Asian one (Times New Roman is what Word offices pair with 仿宋).
LATIN_SERIF, LATIN_SANS = "Times New Roman", "Arial"
#: GB/T 9704's red for the 发文机关标志 and the rule under it.
RED = "C00000"


def css_stack(role: str) -> str:
    """The CSS font-family list of a role: the customary font, its stand-ins, the generic family."""
    r = ROLES[role]
    names = [r.font, *r.substitutes]
    return ", ".join(f'"{n}"' for n in names) + f", {r.generic}"


def latin(role: str) -> str:
    return LATIN_SANS if ROLES[role].generic == "sans-serif" else LATIN_SERIF


def substitution_table() -> list[tuple[str, str, str, str]]:
    """(customary font, Word's altName, the stand-ins in order, the open font it ends on) per customary font:
    what docs/operations.md lists (tests/test_briefing_style.py checks the document holds these rows)."""
    seen, out = set(), []
    for r in ROLES.values():
        if r.font not in seen:
            seen.add(r.font)
            out.append((r.font, r.alt, " → ".join(r.substitutes[:-1]), r.substitutes[-1]))
    return out
