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
    # ---- weekly briefing (briefing/ package) — BEGIN: owned by the briefing; keep these keys together ----
    "brief_bureau": ("青山县自然资源局", "Qingshan County Natural Resources Bureau"),
    "brief_title": ("{bureau}工作周报", "{bureau}: weekly briefing"),
    "brief_subtitle": ("{year}年第{week}周（{start}至{end}）", "Week {week} of {year} ({start} to {end})"),
    "brief_meta_period": ("统计周期", "Week"),
    "brief_period": ("{start} 至 {end}", "{start} to {end}"),
    "brief_meta_compare": ("对比", "Compared with"),
    "brief_compare": ("上周 {pstart} 至 {pend}；去年同周 {ly}", "previous week {pstart} to {pend}; same week last year {ly}"),
    "brief_meta_last_data": ("最新业务数据日期", "Latest data"),
    "brief_meta_generated": ("生成时间", "Generated"),
    "brief_notices": ("提示", "Notes"),
    "brief_sec_summary": ("本周要点", "Highlights"),
    "brief_sec_kpis": ("核心指标", "Key indicators"),
    "brief_sec_flow": ("收件与办结", "Arrivals and completions"),
    "brief_sec_bottlenecks": ("流程瓶颈", "Where work is stuck"),
    "brief_sec_petitions": ("信访情况", "Petitions"),
    "brief_sec_forecast": ("后续预测", "Outlook"),
    "brief_sec_overdue": ("超期及临期件", "Overdue and near-deadline cases"),
    "brief_sec_definitions": ("附录：指标定义", "Appendix: definitions"),
    "brief_col_term": ("名称", "Term"),
    "brief_col_definition": ("定义", "Definition"),
    "brief_chart_missing": ("图表未能生成：", "Chart not drawn: "),
    "brief_page_of": ("第 {page} 页 / 共 {pages} 页", "Page {page} of {pages}"),
    "brief_footer": ("由 LandDesk 根据分析库自动生成", "Generated by LandDesk from the analytics store"),
    "brief_section_failed": ("本节未能生成（{error}）。", "This section could not be computed ({error})."),
    "brief_not_available": ("{what}：相应的分析模块尚未安装，本节暂缺。",
                            "{what}: the analysis module is not installed yet, so this section is left out."),
    "brief_unknown": ("未注明", "not stated"),
    "brief_list_sep": ("；", "; "),
    "brief_name_sep": ("、", ", "),
    "brief_pp": ("个百分点", "pp"),
    # notices
    "brief_notice_empty_store": ("数据库中还没有任何业务数据：请先运行 `landdesk etl run` 载入数据源。本周报只有空表。",
                                 "The store holds no data yet: run `landdesk etl run` to load the sources. This briefing has empty tables only."),
    "brief_notice_before_data": ("本周早于数据库中最早的数据（{first}），没有可报告的数据。",
                                 "This week is before the earliest data in the store ({first}); there is nothing to report."),
    "brief_notice_after_data": ("本周晚于最新数据（{last}），本周数据尚未载入。",
                                "This week is after the latest data ({last}); its data have not been loaded yet."),
    "brief_notice_partial": ("数据只到 {last}，本周数据不完整。", "The data end on {last}, so this week is incomplete."),
    "brief_notice_first_week": ("本周是数据的第一周，无法与上周比较。",
                                "This is the first week of the data: there is no previous week to compare with."),
    # KPI table
    "brief_col_week": ("本周", "This week"),
    "brief_col_prev_week": ("上周", "Previous week"),
    "brief_col_change_week": ("较上周", "vs previous week"),
    "brief_col_last_year": ("去年同周", "Same week last year"),
    "brief_col_change_year": ("较去年同周", "vs last year"),
    "brief_kpi_note": ("去年同周指 {ly}（{ly_start} 至 {ly_end}）。变化 = 本周 − 对比值，比率以百分点计；耕地面积为不晚于本周的最新年度调查数。",
                       "Same week last year = {ly} ({ly_start} to {ly_end}). Change = this week − comparison, rates in "
                       "percentage points; cultivated land is the latest annual survey not after this week."),
    # narrative
    "brief_s_no_activity": ("本周没有收件、办结或信访记录。", "No case was received or completed and no petition arrived this week."),
    "brief_s_headline": ("本周收件 {received} 件，办结 {closed} 件；周末在办 {backlog} 件，超期件 {overdue} 件。",
                         "This week {received} cases were received and {closed} completed; {backlog} were open at "
                         "the week's end and {overdue} were overdue."),
    "brief_s_yoy": ("去年同周收件 {year_before} 件，本周较之 {change} 件。",
                    "In the same week last year {year_before} cases were received ({change} this year)."),
    "brief_s_yoy_same": ("去年同周收件同为 {year_before} 件。", "In the same week last year {year_before} cases were received too."),
    "brief_s_movers": ("与上周相比变化最大的指标：{movers}。", "Largest changes against the previous week: {movers}."),
    "brief_mover": ("{kpi}{judgement}（本周 {value}，上周 {previous}，{change}）",
                    "{kpi}{judgement} ({value} against {previous}, {change})"),
    "brief_better": ("改善", " improved"),
    "brief_worse": ("变差", " worsened"),
    "brief_s_no_movers": ("各项指标与上周相比变化不大。", "No indicator moved much against the previous week."),
    "brief_s_missed": ("未达目标：{items}。", "Below target: {items}."),
    "brief_missed_item": ("{kpi} {value}（目标 {target}）", "{kpi} {value} (target {target})"),
    "brief_s_met": ("达到目标：{items}。", "On target: {items}."),
    "brief_s_backlog_up": ("本周收件多于办结，在办件增加 {change} 件，达到 {backlog} 件。",
                           "More cases arrived than were completed: the backlog grew by {change} to {backlog}."),
    "brief_s_bottleneck": ("近{n}周最主要的瓶颈环节是“{stage}”：完成 {count} 次，中位耗时 {median} 个工作日；"
                           "若每次都达到该环节自身最好四分之一的水平，可节省 {impact} 个工作日。",
                           "The main bottleneck of the last {n} weeks is the stage “{stage}”: {count} events, median "
                           "{median} working days; running every event at the stage's own best quartile would save "
                           "{impact} working days."),
    "brief_s_petitions": ("本周收到信访 {total} 件，最多的问题类别是“{topic}”（{topic_n} 件），最多的乡镇是{town}（{town_n} 件）。",
                          "{total} petitions arrived this week; the most frequent topic was “{topic}” ({topic_n}) and "
                          "the township with the most was {town} ({town_n})."),
    "brief_s_hotspot": ("信访热点：{town}“{topic}”本周 {n} 件，前{weeks}周平均每周 {mean} 件，需重点关注。",
                        "Hot spot: {town}, “{topic}”: {n} this week against a weekly mean of {mean} over the "
                        "previous {weeks} weeks."),
    "brief_s_forecast": ("预计下周收件约 {yhat} 件（预测区间 {lower}–{upper} 件）；未来{n}周每周约 {low}–{high} 件。",
                         "About {yhat} cases are expected next week (interval {lower}–{upper}); over the next {n} "
                         "weeks {low}–{high} a week."),
    "brief_s_forecast_flat": ("预计下周收件约 {yhat} 件（预测区间 {lower}–{upper} 件），未来{n}周大致持平。",
                              "About {yhat} cases are expected next week (interval {lower}–{upper}), and about as many "
                              "in each of the next {n} weeks."),
    "brief_s_overdue": ("周末在办件中已超期 {late} 件、临期 {near} 件，清单见后。",
                        "At the week's end {late} open cases were past their limit and {near} near it (list below)."),
    # flow
    "brief_tbl_flow": ("近{n}周收件与办结", "Arrivals and completions, last {n} weeks"),
    "brief_chart_trend": ("近{n}周每周收件与办结", "Cases received and completed per week, last {n} weeks"),
    "brief_col_net": ("净增", "Net"),
    "brief_col_backlog_end": ("周末在办", "Open at week end"),
    "brief_no_cases": ("该期间没有办件数据。", "There are no case data in this period."),
    # bottlenecks
    "brief_bottleneck_scope": ("统计近{n}周（{start} 至 {end}）完成的环节事件；时长单位为工作日。",
                               "Stage events completed in the last {n} weeks ({start} to {end}); times in working days."),
    "brief_no_events": ("该期间没有环节事件数据。", "There are no stage events in this period."),
    "brief_tbl_bottlenecks": ("瓶颈环节排序（按可节省时间）", "Stages ranked by impact (time saved)"),
    "brief_chart_bottlenecks": ("近{n}周各环节可节省的工作日（按自身最佳四分位运行）",
                                "Working days saved per stage at its own best quartile, last {n} weeks"),
    "brief_col_rank": ("排名", "Rank"),
    "brief_col_stage": ("环节", "Stage"),
    "brief_col_events": ("事件数", "Events"),
    "brief_col_median": ("中位耗时（{unit}）", "Median ({unit})"),
    "brief_col_p25": ("最佳四分位 P25（{unit}）", "Best quartile P25 ({unit})"),
    "brief_col_impact": ("可节省时间（{unit}）", "Time saved ({unit})"),
    # petitions
    "brief_no_petition_data": ("数据库中没有信访数据（信访系统导出尚未载入），信访部分从略。",
                               "The store holds no petition data (the petition system's export has not been loaded), so petitions are left out."),
    "brief_no_petitions_week": ("本周没有收到信访件。", "No petitions were received this week."),
    "brief_tbl_petition_topics": ("本周信访按问题类别", "Petitions this week by topic"),
    "brief_tbl_petition_townships": ("本周信访较多的乡镇", "Townships with the most petitions this week"),
    "brief_chart_petitions": ("本周信访按问题类别", "Petitions this week by topic"),
    "brief_tbl_hotspots": ("信访热点：本周件数明显高于前{n}周周均的乡镇与类别",
                           "Hot spots: township and topic well above their weekly mean of the previous {n} weeks"),
    "brief_col_topic": ("问题类别", "Topic"),
    "brief_col_count": ("件数", "Count"),
    "brief_col_base_mean": ("前{n}周周均", "Weekly mean, previous {n} weeks"),
    # forecast
    "brief_forecast_short": ("历史数据只有 {n} 周，不足以预测。", "Only {n} weeks of history: too short to forecast."),
    "brief_tbl_forecast": ("每周收件预测", "Forecast of weekly case arrivals"),
    "brief_chart_forecast": ("每周收件：近半年实际与未来预测", "Weekly arrivals: the last half year and the forecast"),
    "brief_col_forecast": ("预测收件", "Forecast"),
    "brief_col_interval": ("80% 预测区间", "80% interval"),
    "brief_actual": ("实际收件", "Actual"),
    "brief_forecast_note": ("模型 {model}；回测 MASE {mase}（季节朴素基准 {snaive}），基于 {n} 周历史；MASE 低于基准说明优于简单重复去年同期。",
                            "Model {model}; backtest MASE {mase} (seasonal naive {snaive}) on {n} weeks of history; "
                            "below the baseline means better than repeating last year."),
    # overdue
    "brief_tbl_overdue_summary": ("周末在办件中的超期及临期件", "Open cases at the week's end past or near their limit"),
    "brief_col_category": ("类别", "Category"),
    "brief_overdue_open": ("已超期（在办）", "Past the limit (open)"),
    "brief_near_limit": ("临期（两个工作日内到期）", "Near the limit (due within two working days)"),
    "brief_no_overdue": ("周末没有超期或临期的在办件。", "No open case was past or near its limit at the week's end."),
    "brief_tbl_overdue_list": ("超期及临期件清单", "Overdue and near-deadline cases"),
    "brief_col_case": ("办件编号", "Case"),
    "brief_col_case_type": ("事项类型", "Case type"),
    "brief_col_department": ("承办科室", "Department"),
    "brief_col_received": ("受理日期", "Received"),
    "brief_col_promised": ("承诺时限（工作日）", "Promised (working days)"),
    "brief_col_age": ("已用工作日", "Age (working days)"),
    "brief_col_days_left": ("剩余工作日", "Days left"),
    "brief_overdue_note": ("按紧急程度排序，剩余工作日为负表示已超期；不含申请人等个人信息。",
                           "Most urgent first; negative days left means overdue. No personal data."),
    "brief_truncated": ("仅列出前 {shown} 件，共 {total} 件。", "The first {shown} of {total} are shown."),
    # appendix: definitions
    "brief_def_cases_received": ("受理时间在本周内的办件数。", "Cases whose received_at falls in the week."),
    "brief_def_cases_closed": ("本周办结（已办结或不予许可）的办件数；撤回件不计。",
                               "Cases completed (closed or rejected) in the week; withdrawn cases do not count."),
    "brief_def_on_time_rate": ("本周办结件中，办理时长（工作日，自受理次日起算）不超过承诺时限的比例。",
                               "Completed cases whose working-day duration (counted from the day after receipt) is within the promised limit / completed cases with a limit."),
    "brief_def_median_throughput": ("本周办结件办理时长（受理至办结，工作日）的中位数。",
                                    "Median duration (receipt to completion, working days) of the cases completed in the week."),
    "brief_def_backlog": ("周末仍在办的办件数（已受理、未办结、未撤回）。",
                          "Cases open at the end of the week (received, not completed or withdrawn)."),
    "brief_def_overdue": ("本周办结但超过承诺时限的件数，加周末在办且已用工作日超过承诺时限的件数。",
                          "Cases completed in the week past their promised limit plus cases open at its end past the limit."),
    "brief_def_online_rate": ("本周受理件中通过网上办理或掌上办渠道的比例。",
                              "Share of the week's received cases that came through the online or mobile channels."),
    "brief_def_good_rating_rate": ("本周办结件的评价中，3 分及以上（满分 5 分）的比例。",
                                   "Share of ratings of 3 or more (of 5) among the cases completed in the week."),
    "brief_def_petitions_received": ("登记日期在本周内的信访件数。", "Petitions received in the week."),
    "brief_def_petition_reply_on_time_rate": ("本周答复的信访件中，自登记起 60 日内（延期的 90 日内）答复的比例（《信访工作条例》）。",
                                              "Petitions replied in the week within 60 days of receipt (90 when extended) / petitions replied in the week."),
    "brief_def_cultivated_land_ha": ("不晚于本周的最新年度国土变更调查中耕地（地类 01）的面积，单位公顷。",
                                     "Area of cultivated land (category 01) in the latest annual survey not after the week, in hectares."),
    "brief_term_compare": ("对比口径", "Comparisons"),
    "brief_def_compare": ("上周为紧邻的前一个 ISO 周（周一至周日）；去年同周为上一年同一周序号的 ISO 周（第 53 周对应上年第 52 周）。对比期没有数据时显示“—”。",
                          "Previous week = the ISO week (Monday to Sunday) just before; same week last year = the ISO week "
                          "with the same number a year earlier (week 53 maps to week 52). A comparison without data shows “—”."),
    "brief_term_status": ("状态", "Status"),
    "brief_def_status": ("达标：达到目标；接近目标：差距不超过目标值的 5%；未达标：差距更大。目标来自考核目标表。",
                         "On target: meets the target; near target: misses by at most 5% of it; off target: misses by more. Targets come from the targets table."),
    "brief_term_overdue_list": ("超期及临期件", "Overdue and near-deadline cases"),
    "brief_def_overdue_list": ("周末仍在办且有承诺时限的办件：已用工作日超过承诺时限为超期，剩余不超过 2 个工作日为临期。核心指标“超期件”还包括本周办结但超时的件，故两者可能不同。",
                               "Open cases at the week's end with a promised limit: past it = overdue, at most 2 working days left = near. "
                               "The “Overdue cases” KPI also counts cases completed late in the week, so the two can differ."),
    "brief_term_bottleneck": ("瓶颈影响（可节省时间）", "Bottleneck impact (time saved)"),
    "brief_def_bottleneck": ("环节耗时 = 完成时间 − 开始时间（无开始时间时取上一环节完成时间或受理时间），单位工作日。可节省时间 = Σ max(0, 耗时 − 该环节自身第 25 百分位耗时)，即每次都达到该环节最好四分之一水平时节省的时间。",
                             "Stage time = completed − started (else the previous stage's completion or the receipt), in working days. "
                             "Time saved = Σ max(0, stage time − the stage's own 25th percentile): what running every event at its best quartile would save."),
    "brief_term_hotspot": ("信访热点", "Petition hot spot"),
    "brief_def_hotspot": ("本周某乡镇某问题类别的信访不少于 4 件，且不少于前 8 周周均（至少按 0.5 计）的 2 倍。",
                          "A township and topic with at least 4 petitions this week and at least twice its weekly mean of the previous 8 weeks (taken as at least 0.5)."),
    "brief_term_forecast": ("收件预测", "Arrivals forecast"),
    "brief_def_forecast": ("对每周收件量（最多三年历史）用 LandDesk 预测引擎：候选模型滚动回测后按误差加权组合，含春节效应；区间为回测校准的 80% 预测区间。",
                           "Weekly arrivals (up to three years of history) through LandDesk's forecasting engine: candidate models scored on a rolling backtest "
                           "and combined by inverse error, with the Spring Festival effect; the interval is the backtest-calibrated 80% interval."),
    # petitions: handling and legal limits
    "brief_tbl_petition_handling": ("信访办理", "Petition handling"),
    "brief_col_metric": ("指标", "Metric"),
    "brief_pet_timely_acceptance_rate": ("及时受理率（15 日内）", "Accepted within 15 days"),
    "brief_pet_reply_on_time_rate": ("按期答复率（60/90 日内）", "Replied within 60/90 days"),
    "brief_pet_satisfaction_rate": ("满意率（满意与基本满意）", "Satisfied or basically satisfied"),
    "brief_pet_repeat_petitions": ("重复信访件", "Repeat petitions"),
    "brief_s_repeats": ("本周有 {n} 件重复信访（同一信访人同一问题九十日内再次反映）。",
                        "{n} petitions this week repeat an earlier one (same petitioner and topic within ninety days)."),
    "brief_tbl_petition_countdown_summary": ("周末未办结信访件的法定时限", "Open petitions against their legal limits at the week's end"),
    "brief_petition_past": ("已超过受理或答复时限", "Past the acceptance or reply limit"),
    "brief_petition_near": ("七日内到期", "Due within seven days"),
    "brief_tbl_petition_countdown": ("超期及临期信访件", "Petitions past or near their limit"),
    "brief_col_petition": ("信访件编号", "Petition"),
    "brief_col_step": ("待办环节", "Awaiting"),
    "brief_col_days_left_cal": ("剩余天数", "Days left"),
    "brief_step_accept": ("受理", "acceptance"),
    "brief_step_reply": ("答复", "reply"),
    "brief_petition_countdown_note": ("按紧急程度排序，剩余天数为负表示已超期（自然日，《信访工作条例》）；不含信访人信息。",
                                      "Most urgent first; negative days left means past the limit (calendar days). No petitioner data."),
    "brief_s_petition_countdown": ("周末未办结的信访件中，已超过法定时限 {late} 件、七日内到期 {near} 件。",
                                   "Of the petitions open at the week's end, {late} were past a legal limit and {near} due within seven days."),
    # cultivated land
    "brief_sec_land": ("耕地保护", "Cultivated land"),
    "brief_land_scope": ("最新年度调查的耕地面积与保有目标对比；按近年趋势推算{n}年内跌破目标的也列出。",
                         "Cultivated land in the latest annual survey against its protection target; regions projected to fall below it within {n} years are listed too."),
    "brief_land_ok": ("全县及各乡镇耕地均不低于保有目标，近年也无跌破趋势。",
                      "The county and every township are at or above their cultivated-land targets, with no trend toward falling below."),
    "brief_no_land_data": ("数据库中没有土地利用调查数据，耕地部分从略。", "The store holds no land-use survey data, so cultivated land is left out."),
    "brief_tbl_land": ("低于或将跌破耕地保有目标的区域", "Regions below or heading below their cultivated-land target"),
    "brief_col_region": ("区域", "Region"),
    "brief_col_survey_year": ("调查年度", "Survey year"),
    "brief_col_area": ("耕地面积（{unit}）", "Cultivated land ({unit})"),
    "brief_col_target_area": ("保有目标（{unit}）", "Target ({unit})"),
    "brief_col_gap": ("差距（{unit}）", "Gap ({unit})"),
    "brief_col_cross_year": ("预计跌破年份", "Projected to cross"),
    "brief_land_below": ("低于目标", "below target"),
    "brief_land_crossing": ("将跌破", "heading below"),
    "brief_s_land_below": ("{region}耕地 {area} 公顷（{year}年调查），低于保有目标 {target} 公顷。",
                           "Cultivated land in {region} is {area} ha ({year} survey), below its target of {target} ha."),
    "brief_s_land_crossing": ("{region}耕地 {area} 公顷，仍高于目标 {target} 公顷，但按近年趋势预计 {cross} 年跌破。",
                              "Cultivated land in {region} is {area} ha, still above its target of {target} ha, but on its recent trend falls below it in {cross}."),
    "brief_term_petition_limits": ("信访法定时限", "Petition legal limits"),
    "brief_def_petition_limits": ("《信访工作条例》：登记之日起 15 日内决定是否受理，60 日内答复（经批准延期的 90 日内），按自然日计算。",
                                  "Decide on acceptance within 15 days of receipt and reply within 60 days (90 when extended), calendar days."),
    "brief_term_land": ("耕地跌破预测", "Cultivated land projection"),
    "brief_def_land": ("以最近五个调查年度的耕地面积作最小二乘线性趋势，推算面积低于保有目标的年份；目标取该区域的耕地保有量考核目标。",
                       "A least-squares linear trend over the last five surveyed years projects the year the area falls below the region's cultivated-land target."),
    # ---- weekly briefing — END ----
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
