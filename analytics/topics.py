"""Petition topics (信访主题发现).

Topics (`petition-topics`): TF-IDF on the **words** of the summaries received in the period, NMF with
N_TOPICS components; each petition goes to its heaviest component, and a topic is named by its
heaviest words (TOP_TERMS), so the terms are words a leader reads (征地补偿、宅基地、不动产登记 …).

Words come from jieba (its own dictionary, shipped in the package, loaded offline; precise mode
without the HMM guesser, so an unknown run of characters stays single characters and is dropped)
plus a land-administration user dictionary (``analytics/data/landterms.txt``: 征地补偿, 宅基地,
不动产登记, 土地承包, 违法占地, 拆迁安置, 界址纠纷 …). Kept: words of at least two characters that
are not stop words (``analytics/data/stopwords.txt``: 反映, 要求, 举报 …), numbers or place names
(a word of three or more characters ending in 村/镇/乡, or a word the segmenter cut off such a suffix). jieba's dictionary cache goes to the
temporary directory and its log is silenced.
"""
from __future__ import annotations

import logging
import math
import re
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Connection

from analytics.scope import Scope
from etl.schema import petitions

#: Topics.
N_TOPICS = 8
TOP_TERMS = 8

DATA_DIR = Path(__file__).resolve().parent / "data"
USER_DICT = DATA_DIR / "landterms.txt"
STOP_WORDS = DATA_DIR / "stopwords.txt"
#: A word of three or more characters ending like this is a place name, not a topic word.
PLACE_SUFFIXES = ("村", "镇", "乡", "街道", "社区")
PLACE = re.compile(r"^.{2,}(村|镇|乡|街道|社区)$")
#: A village name in a summary (two or three characters before 村, not 村集体 / 村民 / 村庄), removed before
#: segmentation together with the township names, so that no fragment of a place name becomes a word.
VILLAGE = re.compile(r"[\u4e00-\u9fff]{2,3}村(?!集体|民|庄|委)")

TOPIC_COLUMNS = ["topic_id", "top_terms", "size", "share", "main_category", "main_category_share", "example"]


_BREAKS = re.compile(r"[\s\d０-９.,;:!?()\[\]{}<>\"'，。、；：！？（）【】《》“”‘’…—\-/]+")


def _clauses(text: str) -> str:
    """Punctuation, digits and the ETL's [电话]/[身份证号] tokens become spaces, so that words stay inside
    a clause."""
    return _BREAKS.sub(" ", str(text).replace("[电话]", " ").replace("[身份证号]", " ")).strip()


_jieba_lock = threading.Lock()


@lru_cache(maxsize=1)
def _tokenizer():
    """A jieba tokenizer with the land-administration user dictionary (built once per process; jieba's
    dictionary cache in the temporary directory, its log silenced)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    logging.getLogger("jieba").setLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    tok.tmp_dir = tempfile.gettempdir()
    with _jieba_lock:
        tok.initialize()
        tok.load_userdict(str(USER_DICT))
    return tok


@lru_cache(maxsize=1)
def stop_words() -> frozenset:
    lines = STOP_WORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))


def words(text: str, places: tuple[str, ...] = ()) -> list[str]:
    """The topic words of one summary (see the module docstring), in order; `places` (township names)
    and village names are taken out first."""
    tok, stop = _tokenizer(), stop_words()
    text = str(text)
    for place in places:
        text = text.replace(place, " ")
    text = VILLAGE.sub(lambda m: m.group(0) if m.group(0)[-2:] in ("农村", "乡村") else " ", text)
    out = []
    for clause in _clauses(text).split():
        ws = [w.strip() for w in tok.lcut(clause, HMM=False)]
        for i, w in enumerate(ws):
            if len(w) < 2 or w in stop or w.isascii() or PLACE.match(w):
                continue
            if i + 1 < len(ws) and ws[i + 1] in PLACE_SUFFIXES:      # 荷花 | 村: part of a place name
                continue
            out.append(w)
    return out


def _clean_terms(names: np.ndarray, weights: np.ndarray, k: int) -> list[str]:
    """Top-k words by weight, skipping single characters, blanks and terms inside a better one."""
    out: list[str] = []
    for i in np.argsort(weights)[::-1]:
        term = names[i].strip()
        if len(term) < 2 or weights[i] <= 0:
            continue
        if any(term in t or t in term for t in out):
            continue
        out.append(term)
        if len(out) == k:
            break
    return out


def discover_topics(texts: pd.Series, labels: pd.Series | None = None, n_topics: int = N_TOPICS,
                    random_state: int = 0, places=()) -> tuple[pd.DataFrame, np.ndarray]:
    """TF-IDF (words, see `words`; sublinear tf, min_df 3, max_df 0.5) + NMF. Returns the topic table
    (TOPIC_COLUMNS) and each text's topic id (−1 for empty texts, or texts without a topic word). `places`:
    place names (the townships) to leave out of the words."""
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = texts.fillna("").astype(str).reset_index(drop=True)
    ok = texts.str.strip() != ""
    assign = np.full(len(texts), -1)
    if ok.sum() < max(n_topics, 5):
        return pd.DataFrame(columns=TOPIC_COLUMNS), assign
    docs = texts[ok]
    places = tuple(sorted({str(p) for p in places if isinstance(p, str) and p}, key=len, reverse=True))
    vec = TfidfVectorizer(analyzer=lambda doc: words(doc, places), min_df=3, max_df=0.5, sublinear_tf=True,
                          max_features=20000)
    X = vec.fit_transform(docs)
    k = int(min(n_topics, X.shape[0] - 1, X.shape[1]))
    nmf = NMF(n_components=k, init="nndsvda", random_state=random_state, max_iter=400)
    W = nmf.fit_transform(X)
    names = vec.get_feature_names_out()
    a = W.argmax(axis=1)
    a[W.max(axis=1) <= 0] = -1
    assign[ok.to_numpy()] = a
    lab = labels.reset_index(drop=True)[ok] if labels is not None else None
    rows = []
    for j in range(k):
        members = np.nonzero(a == j)[0]
        if len(members) == 0:
            continue
        best = members[np.argmax(W[members, j])]
        main, main_share = None, math.nan
        if lab is not None:
            vc = lab.iloc[members].fillna("(unknown)").value_counts()
            main, main_share = vc.index[0], float(vc.iloc[0] / len(members))
        rows.append(dict(topic_id=j, top_terms="、".join(_clean_terms(names, nmf.components_[j], TOP_TERMS)),
                         size=int(len(members)), share=len(members) / len(docs), main_category=main,
                         main_category_share=main_share, example=docs.iloc[best]))
    out = pd.DataFrame(rows, columns=TOPIC_COLUMNS).sort_values(["size", "topic_id"], ascending=[False, True])
    ids = {old: new for new, old in enumerate(out["topic_id"])}
    out["topic_id"] = out["topic_id"].map(ids)
    assign = np.array([ids.get(x, -1) for x in assign])
    return out.reset_index(drop=True), assign


def petition_topics(conn: Connection, scope: Scope, n_topics: int = N_TOPICS) -> pd.DataFrame:
    """信访主题发现. Grain: one row per discovered topic, largest first: topic_id, top_terms (words), size (petitions whose heaviest NMF component it is), share, main_category (the most common
    recorded 问题类别 among them) and its share, example (the most typical summary, PII-scrubbed)."""
    q = select(petitions.c.summary, petitions.c.topic, petitions.c.township).where(
        scope.in_period(petitions.c.received_at), *scope.filters(petitions))
    df = pd.DataFrame(conn.execute(q).all(), columns=["summary", "topic", "township"])
    table, _ = discover_topics(df["summary"], df["topic"], n_topics, places=df["township"].dropna().unique())
    return table


def _exports():
    from analytics.exports import Export

    return [
        Export("petition-topics", "topics discovered in petition summaries (TF-IDF on jieba words + NMF) "
               "with top terms, size, share and an example; one row per topic",
               lambda conn, scope, cal, unit, by: petition_topics(conn, scope)),
    ]


EXPORTS = _exports()
