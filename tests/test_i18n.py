"""The translation catalogues: the same keys and placeholders in every language, no message missing from the
code's point of view, none left unused (keys built at run time have declared prefixes), plural forms chosen by
count."""
from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from landdesk import i18n

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("landdesk", "etl", "analytics", "service", "briefing", "delivery", "dashboard", "pages", "cli")
CALLS = {"t", "tr", "tr_data", "guidance", "page_header", "section_failed"}


def _placeholders(msg) -> set[str]:
    texts = msg.values() if isinstance(msg, dict) else [msg]
    return {name for text in texts for _, name, _, _ in string.Formatter().parse(text) if name}


def _literals() -> tuple[set[str], set[str]]:
    """(every string literal in the product code, first arguments of translation calls)."""
    strings, called = set(), set()
    for pkg in PRODUCT:
        for path in (ROOT / pkg).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    strings.add(node.value)
                if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                        and isinstance(node.args[0].value, str):
                    fn = node.func
                    name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", None)
                    if name in CALLS:
                        called.add(node.args[0].value)
    return strings, called


def test_every_language_has_the_same_keys():
    base = set(i18n.catalogue(i18n.DEFAULT_LANG))
    assert len(i18n.LANGS) >= 2
    for lang in i18n.LANGS:
        keys = set(i18n.catalogue(lang))
        assert keys == base, (lang, sorted(base - keys)[:10], sorted(keys - base)[:10])


def test_every_message_has_the_same_placeholders_in_every_language():
    base = i18n.catalogue(i18n.DEFAULT_LANG)
    for lang in i18n.LANGS:
        for key, msg in i18n.catalogue(lang).items():
            assert msg, (lang, key)
            assert _placeholders(msg) == _placeholders(base[key]), (lang, key)
            if isinstance(msg, dict):
                assert "other" in msg, (lang, key)


def test_no_translation_call_names_a_missing_key():
    _, called = _literals()
    missing = sorted(k for k in called if not i18n.has(k))
    assert not missing, missing


def test_no_message_is_unused():
    strings, _ = _literals()
    def used(k: str) -> bool:
        return k in strings or k.startswith(i18n.DYNAMIC_PREFIXES) or any(
            k.endswith(sfx) and k[:-len(sfx)] in strings for sfx in i18n.DYNAMIC_SUFFIXES)
    unused = sorted(k for k in i18n.keys() if not used(k))
    assert not unused, unused


def test_every_dynamic_prefix_is_used():
    for prefix in i18n.DYNAMIC_PREFIXES:
        assert any(k.startswith(prefix) for k in i18n.keys()), prefix


@pytest.mark.parametrize("n, form", [(1, "1 parcel,"), (2, "2 parcels,"), (0, "0 parcels,")])
def test_english_plural_forms_follow_the_count(n, form):
    assert i18n.t("land_idle_caption", "en", n=n, area="3 ha").startswith(form)


def test_chinese_has_one_form_and_missing_keys_fall_back():
    assert i18n.t("land_idle_caption", "zh", n=1, area="3公顷").startswith("1 宗")
    assert i18n.t("no_such_key", "zh") == "no_such_key"
    assert i18n.t("app_title", "xx") == i18n.t("app_title", "en")


def test_bureau_name_comes_from_the_setting(monkeypatch):
    monkeypatch.setenv("LANDDESK_BUREAU", "河西市自然资源和规划局")
    assert i18n.t("app_title", "zh").startswith("河西市自然资源和规划局")
    monkeypatch.delenv("LANDDESK_BUREAU")
    assert i18n.t("app_title", "zh").startswith("青山县自然资源局")
