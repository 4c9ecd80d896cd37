"""Every user-visible string, in Chinese and English: the one translation table.

Also number conventions: 万/亿 for Chinese counts, 公顷 and 亩 for areas.
"""
from __future__ import annotations

import math

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
MU_PER_HA = 15.0

TEXT: dict[str, tuple[str, str]] = {
    # app and navigation
    "app_title": ("青山县自然资源局 · LandDesk 决策分析", "LandDesk · Land & Resources Analytics"),
    "nav_overview": ("总览", "Overview"),
    "page_cockpit": ("领导驾驶舱", "Cockpit"),
    "language": ("语言 / Language", "Language / 语言"),
    "filters": ("筛选", "Filters"),
    "period": ("统计期间", "Period"),
    "township": ("乡镇", "Township"),
    "all_townships": ("全县", "Whole county"),
    "case_type": ("事项类型", "Case type"),
    "all_case_types": ("全部事项", "All case types"),
    "department": ("承办科室", "Department"),
    "all_departments": ("全部科室", "All departments"),
    "data_as_of": ("数据截至", "Data as of"),
    "no_data": ("数据库中还没有数据。请运行 `landdesk demo` 载入样例县，或用 `landdesk etl load 映射.yaml` 载入本局数据。",
                "The store holds no data yet. Run `landdesk demo` to load the sample county, or "
                "`landdesk etl load MAPPING.yaml` to load your bureau's exports."),
    "store_error": ("无法连接数据库：", "Cannot reach the store: "),
    "vs_previous": ("较上期", "vs previous period"),
    "target": ("目标", "Target"),
    "no_target": ("未设目标", "no target"),
    "status_green": ("达标", "on target"),
    "status_amber": ("接近目标", "near target"),
    "status_red": ("未达标", "off target"),
    "weekly_trend": ("每周收件与办结", "Cases received and completed per week"),
    "weekly_trend_help": ("按周（周一起）统计的收件量与办结量；两线持续分离说明在办件在积压。",
                          "Cases received and completed per week (weeks start Monday); lines that stay apart mean the backlog is building."),
    "week": ("周", "Week"),
    "count_cases": ("件数", "Cases"),
    "received": ("收件", "Received"),
    "closed": ("办结", "Completed"),
    "kpi_table": ("指标明细", "KPI details"),
    "period_caption": ("统计期间 {start} 至 {end}，对比上期 {pstart} 至 {pend}",
                       "Period {start} to {end}, compared with {pstart} to {pend}"),
    "unit_workdays": ("个工作日", "working days"),
    "unit_days": ("天", "days"),
    "unit_hours": ("小时", "hours"),
    "unit_cases": ("件", "cases"),
    "unit_ha": ("公顷", "ha"),
    "unit_mu": ("亩", "mu"),
    "col_kpi": ("指标", "KPI"),
    "col_value": ("本期", "This period"),
    "col_previous": ("上期", "Previous"),
    "col_change": ("变化", "Change"),
    "col_target": ("目标", "Target"),
    # KPI names (codes as in analytics.kpis.KPI_SPEC)
    "kpi_cases_received": ("收件量", "Cases received"),
    "kpi_cases_closed": ("办结量", "Cases completed"),
    "kpi_on_time_rate": ("按期办结率", "On-time rate"),
    "kpi_median_throughput": ("办理时长中位数", "Median throughput time"),
    "kpi_backlog": ("在办件", "Backlog (open cases)"),
    "kpi_overdue": ("超期件", "Overdue cases"),
    "kpi_online_rate": ("网办率", "Online rate"),
    "kpi_good_rating_rate": ("好评率", "Good-rating rate"),
    "kpi_petitions_received": ("信访件量", "Petitions received"),
    "kpi_petition_reply_on_time_rate": ("信访按期答复率", "Petitions replied on time"),
    "kpi_cultivated_land_ha": ("耕地面积", "Cultivated land"),
    # data page
    "nav_data": ("数据与周报", "Data & briefing"),
    "page_data": ("数据管理", "Data"),
    "catalogue": ("数据源目录", "Source catalogue"),
    "catalogue_help": ("每个数据集的粒度、字段、行数、最近一次载入及其映射与来源文件、距今天数。",
                       "Each dataset's grain, fields, row count, last load with its mapping and source file, and its age in days."),
    "batches": ("载入批次", "Load history"),
    "no_batches": ("还没有任何载入批次。", "No batches have been loaded yet."),
    "rejects": ("被拒记录", "Rejected records"),
    "rejects_help": ("按原因汇总被拒绝的源记录；原始内容已脱敏。", "Rejected source records by reason; raw content is pseudonymised."),
    "no_rejects": ("没有被拒记录。", "No rejected records."),
    "upload": ("上传并载入", "Upload and load"),
    "upload_help": ("选择一个映射文件，上传同一系统的新导出文件，按该映射校验并载入（整批一个事务）。",
                    "Choose a mapping, upload a new export of the same system; it is validated and loaded through that mapping as one transaction."),
    "mapping": ("映射文件", "Mapping"),
    "upload_file": ("导出文件（csv / xlsx / xes / xes.gz）", "Export file (csv / xlsx / xes / xes.gz)"),
    "upload_load": ("载入", "Load"),
    "col_dataset": ("数据集", "Dataset"),
    "col_grain": ("粒度", "Grain"),
    "col_fields": ("字段", "Fields"),
    "col_rows": ("行数", "Rows"),
    "col_last_batch": ("最近批次", "Last batch"),
    "col_mapping": ("映射", "Mapping"),
    "col_source": ("来源", "Source"),
    "col_last_loaded": ("最近载入", "Last loaded"),
    "col_age_days": ("距今（天）", "Age (days)"),
    "col_batch_id": ("批次", "Batch"),
    "col_status": ("状态", "Status"),
    "col_started_at": ("开始", "Started"),
    "col_finished_at": ("结束", "Finished"),
    "col_rows_read": ("读取", "Read"),
    "col_rows_loaded": ("载入", "Loaded"),
    "col_rows_rejected": ("拒绝", "Rejected"),
    "col_source_sha256": ("来源 SHA-256", "Source SHA-256"),
    "col_message": ("说明", "Message"),
    "col_reason": ("原因", "Reason"),
    "col_records": ("记录数", "Records"),
    "col_share": ("占比", "Share"),
    "col_example_rows": ("示例行号", "Example rows"),
    "col_row_number": ("行号", "Row"),
    "col_raw": ("原始内容（脱敏）", "Raw (pseudonymised)"),
}


def t(key: str, lang: str = DEFAULT_LANG, **fmt) -> str:
    """The text for `key` in `lang` (the key itself when missing, so gaps show up in tests)."""
    pair = TEXT.get(key)
    text = key if pair is None else pair[0 if lang == "zh" else 1]
    return text.format(**fmt) if fmt else text


def fmt_count(n: float, lang: str = DEFAULT_LANG) -> str:
    """Counts: Chinese uses 万 and 亿 above ten thousand, English thousands separators."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return "—"
    if lang == "zh":
        if abs(n) >= 1e8:
            return f"{n / 1e8:.2f}亿"
        if abs(n) >= 1e4:
            return f"{n / 1e4:.2f}万"
        return f"{n:,.0f}" if float(n).is_integer() else f"{n:,.1f}"
    return f"{n:,.0f}" if float(n).is_integer() else f"{n:,.1f}"


def fmt_rate(x: float) -> str:
    return "—" if x is None or math.isnan(x) else f"{x * 100:.1f}%"


def fmt_area(ha: float, lang: str = DEFAULT_LANG, with_mu: bool = True) -> str:
    """Area in 公顷, with 亩 beside it for Chinese readers unless `with_mu` is off."""
    if ha is None or math.isnan(ha):
        return "—"
    if lang == "zh":
        text = f"{fmt_count(round(ha, 1), lang)}公顷"
        return f"{text}（{fmt_count(round(ha * MU_PER_HA), lang)}亩）" if with_mu else text
    return f"{ha:,.1f} ha"
