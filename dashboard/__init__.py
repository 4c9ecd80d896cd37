"""The Streamlit app: router, shared UI parts, cached data access and translations."""
