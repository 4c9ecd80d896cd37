"""Petition topics (信访主题发现).

Topics (`petition-topics`): TF-IDF on character n-grams (1–3, ``char_wb``: no Chinese tokenizer
needed) of the summaries received in the period, NMF with N_TOPICS components; each petition goes
to its heaviest component.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Connection

from analytics.scope import Scope
from etl.schema import petitions

#: Topics.
N_TOPICS = 8
TOP_TERMS = 8

TOPIC_COLUMNS = ["topic_id", "top_terms", "size", "share", "main_category", "main_category_share", "example"]


_BREAKS = re.compile(r"[\s\d０-９.,;:!?()\[\]{}<>\"'，。、；：！？（）【】《》“”‘’…—\-/]+")


def _clauses(text: str) -> str:
    """Punctuation, digits and the ETL's [电话]/[身份证号] tokens become spaces, so that char_wb n-grams
    stay inside a clause."""
    return _BREAKS.sub(" ", str(text).replace("[电话]", " ").replace("[身份证号]", " ")).strip()


def _clean_terms(names: np.ndarray, weights: np.ndarray, k: int) -> list[str]:
    """Top-k n-grams by weight, skipping single characters, blanks and terms inside a better one."""
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
                    random_state: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """TF-IDF (character 1–3-grams, char_wb, sublinear tf, min_df 3, max_df 0.5) + NMF. Returns the
    topic table (TOPIC_COLUMNS) and each text's topic id (−1 for empty texts)."""
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = texts.fillna("").astype(str).reset_index(drop=True)
    ok = texts.str.strip() != ""
    assign = np.full(len(texts), -1)
    if ok.sum() < max(n_topics, 5):
        return pd.DataFrame(columns=TOPIC_COLUMNS), assign
    docs = texts[ok]
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), min_df=3, max_df=0.5, sublinear_tf=True,
                          max_features=20000, preprocessor=_clauses)
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
    """信访主题发现. Grain: one row per discovered topic, largest first: topic_id, top_terms (character
    n-grams), size (petitions whose heaviest NMF component it is), share, main_category (the most common
    recorded 问题类别 among them) and its share, example (the most typical summary, PII-scrubbed)."""
    q = select(petitions.c.summary, petitions.c.topic).where(scope.in_period(petitions.c.received_at),
                                                           *scope.filters(petitions))
    df = pd.DataFrame(conn.execute(q).all(), columns=["summary", "topic"])
    table, _ = discover_topics(df["summary"], df["topic"], n_topics)
    return table


def _exports():
    from analytics.exports import Export

    return [
        Export("petition-topics", "topics discovered in petition summaries (TF-IDF character n-grams + NMF) "
               "with top terms, size, share and an example; one row per topic",
               lambda conn, scope, cal, unit, by: petition_topics(conn, scope)),
    ]


EXPORTS = _exports()
