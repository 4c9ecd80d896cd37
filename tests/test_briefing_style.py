"""The briefing's official-document (公文) conventions (issue 17): Chinese day ranges, a week label a person reads
(第20周), and no "data incomplete" notice for a week the tool's own rule calls complete."""
from __future__ import annotations

import datetime as dt

import pytest

from briefing import build_briefing
from briefing.weeks import data_range, last_complete_week
from etl.store import make_engine
from landdesk.fmt import fmt_day_range
from landdesk.i18n import t


@pytest.mark.parametrize("start, end, zh, en", [
    (dt.date(2026, 5, 11), dt.date(2026, 5, 17), "2026年5月11日—17日", "11–17 May 2026"),
    (dt.date(2026, 4, 27), dt.date(2026, 5, 3), "2026年4月27日—5月3日", "27 Apr – 3 May 2026"),
    (dt.date(2025, 12, 29), dt.date(2026, 1, 4), "2025年12月29日—2026年1月4日", "29 Dec 2025 – 4 Jan 2026"),
])
def test_day_ranges_as_official_documents_write_them(start, end, zh, en):
    assert fmt_day_range(start, end, "zh") == zh and fmt_day_range(start, end, "en") == en


@pytest.fixture(scope="module")
def sample_engine(sample_store_url):
    engine = make_engine(sample_store_url)
    yield engine
    engine.dispose()


def test_week_label_and_no_false_incomplete_notice(sample_engine):
    _first, last = data_range(sample_engine)
    week = last_complete_week(last)                    # the sample's data end on a Saturday: its week is complete
    assert last.weekday() >= 4 and week.endswith(f"W{last.isocalendar().week:02d}")
    b = build_briefing(sample_engine, week, "zh", charts=False)
    assert not any("不完整" in n for n in b.notices), b.notices
    number = int(week.split("-W")[1])
    assert b.subtitle == f"第{number}周（{fmt_day_range(b.start, b.end, 'zh')}）"
    # the week after the data is still flagged, as "after the latest data"
    nxt = build_briefing(sample_engine, f"{b.end + dt.timedelta(days=1):%G-W%V}", "en", charts=False)
    assert any("after the latest data" in n for n in nxt.notices)
    assert t("brief_notice_partial", "en", last=last) not in nxt.notices


def test_classification_mark_and_issuer_in_every_rendering(sample_engine, monkeypatch, tmp_path):
    import io

    from docx import Document

    from briefing import briefing_bytes
    from landdesk.fmt import fmt_date
    monkeypatch.setenv("LANDDESK_BRIEFING_MARK", "内部资料 注意保存")
    monkeypatch.setenv("LANDDESK_BRIEFING_ISSUER", "青山县自然资源局办公室")
    b = build_briefing(sample_engine, "2026-W43", "zh", charts=False)
    day = fmt_date(b.generated_at.date(), "zh")
    html_text = briefing_bytes(b, "html").decode("utf-8")
    assert html_text.index("内部资料 注意保存") < html_text.index("<h1>")
    assert html_text.index("青山县自然资源局办公室") > html_text.index('id="definitions"') and day in html_text
    paras = [p.text for p in Document(io.BytesIO(briefing_bytes(b, "docx"))).paragraphs]
    assert paras[0] == "内部资料 注意保存" and paras[-2:] == ["青山县自然资源局办公室", day]
    monkeypatch.delenv("LANDDESK_BRIEFING_MARK")
    monkeypatch.delenv("LANDDESK_BRIEFING_ISSUER")
    plain = build_briefing(sample_engine, "2026-W43", "zh", charts=False)
    assert plain.mark == "" and plain.issuer == plain.bureau
