"""Pure computation on the store: KPIs, bottlenecks, petitions, land use, forecasts (no streamlit)."""
