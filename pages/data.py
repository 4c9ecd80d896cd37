"""数据管理 — the analyst's view: source catalogue, load history, rejects by reason, and upload."""
import streamlit as st

from dashboard import data
from dashboard.ui import cols, field_label, table, text, tr

st.title(tr("page_data"))
key = data.batch_key()

st.subheader(tr("catalogue"))
st.caption(tr("catalogue_help"))
cat = data.catalogue(key)
cat["fields"] = [", ".join(field_label(f) for f in fields.split(", ") if f) for fields in cat["fields"]]
table(cat, "catalogue", cols("dataset", "grain", "fields", "rows", "last_batch", "mapping", "source",
                             "last_loaded", "age_days"))

st.subheader(tr("batches"))
batches = data.batches(key)
if batches.empty:
    st.info(tr("no_batches"))
else:
    table(batches, "etl-batches", cols("batch_id", "status", "dataset", "mapping", "source", "started_at",
                                       "finished_at", "rows_read", "rows_loaded", "rows_rejected", "source_sha256",
                                       "message"), height=300)

st.subheader(tr("rejects"))
st.caption(tr("rejects_help"))
reasons = data.rejects_by_reason(key)
if reasons.empty:
    st.success(tr("no_rejects"))
else:
    table(reasons, "rejects-by-reason", cols("batch_id", "reason", "records", "share", "example_rows"))
    batch = st.selectbox(tr("col_batch_id"), reasons["batch_id"].unique().tolist())
    table(data.rejects(key, int(batch)), f"rejects-{batch}", cols("batch_id", "row_number", "reason", "raw"))

from dashboard import session  # noqa: E402

if not session.require_principal().can("upload"):   # analysts and admins only (data.load_upload checks again)
    st.stop()
st.subheader(tr("upload"))
st.caption(tr("upload_help"))
mappings = data.mapping_files()
choice = st.selectbox(tr("mapping"), list(mappings), format_func=lambda p: mappings[p])
uploaded = st.file_uploader(tr("upload_file"), type=["csv", "xlsx", "xes", "gz"])
if uploaded is not None and st.button(tr("upload_load"), type="primary"):
    from landdesk.errors import LandDeskError
    try:
        result = data.load_upload(choice, uploaded.name, uploaded.getvalue())
    except LandDeskError as exc:
        st.error(text(exc))
    else:
        (st.success if result.status == "loaded" else st.info)(text(result.summary()))
