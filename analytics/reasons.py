"""Plain reasons (bilingual sentences) of the early warnings, keyed by rule code: the integrity-risk
rules and features (`analytics.integrity`) and petition spikes (`analytics.spikes`).

One table for both, so neither module holds translatable text of its own. (To move to the translation
catalogue in `landdesk.i18n`.)
"""
from __future__ import annotations

#: Plain reasons per rule code, Chinese and English; `{…}` fields are filled per case / handler.
#: (To move to the dashboard's translation table.)
REASONS: dict[str, dict[str, str]] = {
    "skipped_stage": {
        "zh": "缺少该类事项的必经环节：{stages}",
        "en": "Skipped mandatory stage(s) of this case type: {stages}",
    },
    "out_of_order": {
        "zh": "审批环节“{approval}”早于审查环节“{review}”完成",
        "en": "Approval stage '{approval}' completed before review stage '{review}'",
    },
    "too_fast": {
        "zh": "办理用时 {hours} 小时，远快于同类事项（中位数 {median} 小时）",
        "en": "Handled in {hours} h, abnormally fast for its type (median {median} h)",
    },
    "too_slow": {
        "zh": "办理用时 {hours} 小时，远慢于同类事项（中位数 {median} 小时）",
        "en": "Took {hours} h, abnormally slow for its type (median {median} h)",
    },
    "single_handler": {
        "zh": "全部 {n} 个环节由同一经办人办理，未做到岗位分离",
        "en": "All {n} stages handled by one person (no separation of duties)",
    },
    "isolation": {
        "zh": "办理特征组合异常（孤立森林异常分 {score}）：{features}",
        "en": "Unusual combination of case features (isolation-forest score {score}): {features}",
    },
    # the features an isolation flag names (its two most deviating ones)
    "feature_log_hours_z": {"zh": "办理用时偏离同类 {v:+.1f} 个标准差", "en": "throughput {v:+.1f} SD from its type"},
    "feature_stages_rel": {"zh": "环节数较同类中位数 {v:+.0f} 个", "en": "{v:+.0f} stages vs the type's median"},
    "feature_handlers": {"zh": "经办人 {v:.0f} 人", "en": "{v:.0f} handlers"},
    "feature_rework": {"zh": "返工或补正 {v:.0f} 次", "en": "{v:.0f} rework or supplement steps"},
    "feature_max_handler_share": {"zh": "单人办理环节占比 {v:.0%}", "en": "one handler did {v:.0%} of the stages"},
    "feature_missing": {"zh": "缺少必经环节 {v:.0f} 个", "en": "{v:.0f} mandatory stage(s) missing"},
    "feature_out_of_order": {"zh": "审批早于审查 {v:.0f} 处", "en": "{v:.0f} approval(s) before review"},
    "handler_flagged": {
        "zh": "该经办人的预警办件占比 {rate}（{k}/{n} 件），同行为 {peer}",
        "en": "Flagged cases {rate} of this handler's cases ({k} of {n}) vs {peer} for peers",
    },
    "handler_fast": {
        "zh": "该经办人的异常快速办结占比 {rate}（{k}/{n} 件），同行为 {peer}",
        "en": "Abnormally fast cases {rate} of this handler's cases ({k} of {n}) vs {peer} for peers",
    },
    "petition_spike": {
        "zh": "{township}“{topic}”类信访本周 {count} 件，超出预测上限 {upper}（预期 {expected}）",
        "en": "{count} '{topic}' petitions in {township} this week, above the forecast upper bound {upper} "
              "(expected {expected})",
    },
}


def reason(code: str, lang: str, **fields) -> str:
    """The plain reason of a rule in `lang` (zh | en) with its fields filled in."""
    return REASONS[code][lang].format(**fields)
