"""Plain reasons of the early warnings, keyed by rule code: the integrity-risk rules and features
(`analytics.integrity`) and petition spikes (`analytics.spikes`). The sentences live in the translation
catalogues (`reason_<code>` in landdesk/i18n/<lang>.yaml); this module names the codes and fills them in.
"""
from __future__ import annotations

from landdesk.i18n import LANGS, catalogue, t

#: The rule and feature codes that have a reason sentence.
CODES = ("skipped_stage", "skipped_statutory_stage", "out_of_order", "too_fast", "too_slow", "single_handler", "isolation",
         "feature_log_hours_z", "feature_stages_rel", "feature_handlers", "feature_rework",
         "feature_max_handler_share", "feature_missing", "feature_out_of_order",
         "handler_flagged", "handler_fast", "petition_spike")
#: code -> {language: sentence template}, as the catalogues hold them.
REASONS: dict[str, dict[str, str]] = {code: {lang: catalogue(lang).get("reason_" + code, "") for lang in LANGS}
                                      for code in CODES}


def reason(code: str, lang: str, **fields) -> str:
    """The plain reason of a rule in `lang` with its fields filled in."""
    return t("reason_" + code, lang, **fields)
