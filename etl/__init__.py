"""Sources → store: extract (csv/xlsx/xes/sql), map, validate and load; the store's schema and migrations."""
