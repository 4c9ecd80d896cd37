"""analytics.topics: petition topics are named by words (jieba + the land-administration user dictionary),
not character n-grams; the dictionaries ship in the package and load offline."""
import tempfile

import numpy as np
import pandas as pd

from analytics import topics

VILLAGES = ["上村", "水口村", "荷花村", "大坑村", "长岭村", "黄泥岗村"]
TEMPLATES = {
    "征地补偿": "反映{t}{v}项目征地补偿款约{n}万元至今未足额发放，要求尽快兑现。",
    "违法用地举报": "举报{t}{v}附近有企业未批先建，占用农用地堆放建材。",
    "不动产登记": "反映{t}{v}宅基地房屋确权登记面积与实际不符，要求更正登记。",
}
TOWNS = ["东坪镇", "城关镇", "南山乡"]


def _texts(n=150, seed=2):
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        cat = rng.choice(list(TEMPLATES))
        texts.append(TEMPLATES[cat].format(t=rng.choice(TOWNS), v=rng.choice(VILLAGES), n=rng.integers(5, 90)))
        labels.append(cat)
    return pd.Series(texts), pd.Series(labels)


def test_words_are_land_administration_words():
    w = topics.words("反映东坪镇长岭村项目征地补偿款约12万元至今未足额发放，要求尽快兑现。", ("东坪镇",))
    assert "征地补偿" in w
    assert "镇长" not in w and "长岭" not in w                 # no fragment of a place name
    assert not {"反映", "要求"} & set(w)                         # stop words
    assert all(len(x) >= 2 for x in w)
    other = topics.words("咨询农村宅基地审批政策及办理流程。")
    assert "农村" in other and any(x.startswith("宅基地") for x in other)
    assert "不动产登记" in topics.words("建议设立不动产登记便民服务点。")


def test_topic_terms_are_words_not_character_ngrams():
    texts, labels = _texts()
    table, _ = topics.discover_topics(texts, labels, n_topics=3, places=TOWNS)
    terms = {r.main_category: r.top_terms.split("、") for r in table.itertuples()}
    assert set(terms) == set(TEMPLATES)
    # four- and five-character words: out of reach of character 1-3-grams
    assert "征地补偿" in terms["征地补偿"]
    assert {"未批先建", "农用地"} & set(terms["违法用地举报"])
    assert {"确权登记", "更正登记", "宅基地"} & set(terms["不动产登记"])
    every = {t for ts in terms.values() for t in ts}
    assert not {"地被", "被他", "用耕", "征地补", "补偿款约", "镇长"} & every
    assert not any(t.endswith(("村", "镇", "乡")) for t in every)


def test_dictionaries_ship_in_the_package_and_load_offline():
    assert topics.USER_DICT.is_file() and topics.USER_DICT.parent.parent.name == "analytics"
    assert topics.STOP_WORDS.is_file()
    terms = [line.split()[0] for line in topics.USER_DICT.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(terms) >= 30
    for term in ("征地补偿", "宅基地", "不动产登记", "土地承包", "违法占地", "拆迁安置", "耕地占用", "林地", "界址纠纷"):
        assert term in terms
    tok = topics._tokenizer()
    assert tok.tmp_dir == tempfile.gettempdir()
    assert tok.FREQ.get("界址纠纷")                                # the user dictionary is loaded
