"""Section numbers as an official document (公文) writes them: 一、 for sections, （一） for the parts of a
section, 1. for items (GB/T 9704 层次序数); in English 1. / (a) / 1. — assigned once, by `number_briefing`, and
drawn by every renderer in front of the title (never inside a sentence, whose numbers must stand in a table)."""
from __future__ import annotations

DIGITS = "零一二三四五六七八九"


def cn_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十, 99 → 九十九 (the counts a briefing reaches)."""
    if not 0 < n < 100:
        raise ValueError(f"{n} is out of the range of section numbers")
    tens, ones = divmod(n, 10)
    if tens == 0:
        return DIGITS[ones]
    return ("" if tens == 1 else DIGITS[tens]) + "十" + (DIGITS[ones] if ones else "")


def label(level: int, n: int, lang: str) -> str:
    """The label of the n-th heading at `level` (1 section, 2 part, 3 item), with its trailing separator."""
    if lang == "zh":
        return {1: f"{cn_number(n)}、", 2: f"（{cn_number(n)}）", 3: f"{n}."}[level]
    return {1: f"{n}. ", 2: f"({chr(ord('a') + n - 1)}) ", 3: f"{n}. "}[level]


def number_briefing(b) -> None:
    """Number the briefing's headings in reading order: summary, KPI table, each section (its tables as parts),
    definitions. Sets `b.labels` (summary / kpis / definitions) and each Section's and Table's `label`."""
    n = 0

    def next_label() -> str:
        nonlocal n
        n += 1
        return label(1, n, b.lang)

    b.labels = {"summary": next_label(), "kpis": next_label()}
    for sec in b.sections:
        sec.label = next_label()
        for i, tb in enumerate(sec.tables, 1):
            tb.label = label(2, i, b.lang)
    b.labels["definitions"] = next_label()


def item_label(i: int, lang: str) -> str:
    """The label of the i-th (1-based) narrative item."""
    return label(3, i, lang)
