"""Issue 14: analytics.casefilter.case_paths (vectorised: cases grouped by their row of stage codes) equals the
plain per-case join it replaced, on seeded random frames in frame order and shuffled."""
import numpy as np
import pandas as pd
import pytest

from analytics.casefilter import VARIANT_SEP, case_paths


@pytest.mark.parametrize("seed", range(8))
def test_case_paths_equal_the_per_case_join(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    lens = rng.integers(1, 12, n)
    key = np.repeat(rng.permutation(n * 3)[:n], lens)
    stage = rng.choice(["受理", "审查", "a", "b b", "决定"], len(key))
    ev = pd.DataFrame({"case_key": key, "stage": pd.array(stage, dtype="str")})
    if seed % 2:
        ev = ev.sample(frac=1, random_state=seed)
    want = ev.groupby("case_key", sort=True)["stage"].agg(VARIANT_SEP.join)
    got = case_paths(ev)
    assert list(got.index) == list(want.index)
    assert list(got) == list(want.astype(object))
