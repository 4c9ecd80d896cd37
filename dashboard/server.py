"""The ASGI application `landdesk serve` runs (`streamlit run dashboard/server.py`: Streamlit finds the st.App and
serves it with uvicorn): LandDesk's Streamlit app (dashboard/app.py) with no Streamlit notice on the console.

Streamlit reads its configuration from dashboard/.streamlit/config.toml beside this file, and `landdesk serve`
passes the same options as flags (cli.main.streamlit_flags)."""
import streamlit as st

app = st.App("app.py")
