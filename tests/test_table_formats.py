"""The grid's number formats (dashboard.ui.table): whole numbers with digit grouping (7,572), as the page's text
writes them, decimals with two places, calendar years plain (2038), empty cells as the dash with the same grouping."""
import json

from streamlit.testing.v1 import AppTest


def _script():
    import numpy as np
    import pandas as pd

    from dashboard.ui import table
    table(pd.DataFrame({"cases": [7572, 12], "events": [7572.0, 3.0], "median": [1234.5, 2.25],
                        "year": [2038, 2040], "latest_year": [2038.0, np.nan], "received": [7572.0, np.nan]}),
          "formats")


def test_whole_numbers_are_grouped_and_years_are_not():
    at = AppTest.from_function(_script, default_timeout=60)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    grid = at.dataframe[0]
    config = json.loads(grid.proto.columns)
    fmt = {name: (c.get("type_config") or {}).get("format") for name, c in config.items()}
    from dashboard.ui import WHOLE
    assert fmt["cases"] == WHOLE == "localized" and fmt["events"] == WHOLE
    assert fmt["median"] == "%.2f"
    assert fmt.get("year") in (None, "plain") and fmt.get("latest_year") != WHOLE
    shown = grid.value
    assert list(shown["received"]) == ["7,572", "—"]                  # empty cells: text with the same grouping
    assert [str(v) for v in shown["latest_year"]] == ["2038", "—"]
