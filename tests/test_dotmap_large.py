"""Issue 14: a process map of more than LARGE_MAP_EDGES edges is laid out by sfdp with its edge values as
tooltips (dot never settled on 400 activities / 5,401 edges); a smaller one keeps dot and edge labels."""
import pandas as pd

from analytics.process import END, START
from dashboard import dotmap


def _map(n_edges: int):
    names = [f"a{i}" for i in range(60)]
    pairs = [(a, b) for a in names for b in names if a != b][:n_edges]
    edges = pd.DataFrame({"source": [p[0] for p in pairs], "target": [p[1] for p in pairs],
                          "cases": range(1, n_edges + 1)})
    nodes = pd.DataFrame({"activity": [START, *names, END], "cases": 1})
    return nodes, edges


def test_small_map_keeps_dot_and_edge_labels():
    dot = dotmap.to_dot(*_map(dotmap.LARGE_MAP_EDGES))
    assert "layout=sfdp" not in dot and "tooltip=" not in dot
    assert dot.count(" -> ") == dotmap.LARGE_MAP_EDGES and dot.count('label="') >= dotmap.LARGE_MAP_EDGES


def test_large_map_is_laid_out_by_sfdp_with_tooltips():
    dot = dotmap.to_dot(*_map(dotmap.LARGE_MAP_EDGES + 1))
    assert "layout=sfdp, overlap=scale" in dot
    edge_lines = [line for line in dot.splitlines() if " -> " in line]
    assert len(edge_lines) == dotmap.LARGE_MAP_EDGES + 1
    assert all("tooltip=" in line and "label=" not in line for line in edge_lines)
    assert f'tooltip="{dotmap.LARGE_MAP_EDGES + 1:,}"' in dot     # the measure is still there, as the tooltip


def test_large_map_renders_with_graphviz():
    import pytest
    if not dotmap.dot_available():
        pytest.skip("Graphviz (dot) is not installed")
    svg = dotmap.render(dotmap.to_dot(*_map(1500)), "svg").decode()
    assert svg.count('class="edge"') == 1500
