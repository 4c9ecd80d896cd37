"""数据目录 — the data dictionary (目录体系): every dataset with its grain, source systems, freshness and rows,
and every field with its type, unit and meaning. Lays out analytics.catalogue's two exports (`catalogue`,
`catalogue-fields`), read through the service layer like every other page."""
import streamlit as st

from dashboard import data
from dashboard.ui import cols, guidance, lang, table, tr
from landdesk.i18n import t

st.title(tr("page_catalogue"))
st.caption(tr("dict_help"))
key = data.batch_key()
lg = lang()

sets = data.dictionary(key, "catalogue")
loaded = sets[sets["last_batch"].notna()]
if loaded.empty:                       # an empty store: say how to load, still list what it can hold
    guidance("no_data")
left, mid, right = st.columns(3)
left.metric(tr("dict_datasets"), f"{len(sets)}", help=tr("dict_datasets_help"))
mid.metric(tr("dict_loaded"), f"{len(loaded)}", help=tr("dict_loaded_help"))
right.metric(tr("dict_fields"), f"{int(sets['fields'].sum())}", help=tr("dict_fields_help"))

st.subheader(tr("dict_datasets"))
labels = cols("dataset", "grain", "fields", "rows", "systems", "mappings", "batches", "last_loaded", "age_days")
table(sets.assign(grain=sets["grain_" + lg])[list(labels)], "catalogue", labels)

st.subheader(tr("dict_fields"))
fields = data.dictionary(key, "catalogue-fields")
names = list(sets["dataset"])
choice = st.selectbox(tr("dict_fields_of"), [None] + names, key="dict_dataset",
                      format_func=lambda d, lg=lg: t("dict_all_datasets" if d is None else "dataset_" + d, lg))
if choice is not None:
    fields = fields[fields["dataset"] == choice]
fields = fields.assign(label=fields["label_" + lg], unit=fields["unit_" + lg], meaning=fields["meaning_" + lg])
labels = cols("dataset", "label", "type", "unit", "key", "nullable", "meaning")   # codes: the export
table(fields[list(labels)], "catalogue-fields" if choice is None else f"catalogue-fields-{choice}", labels)
