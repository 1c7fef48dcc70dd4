"""schema.coerce_evaluations converts text columns with one Arrow conversion (issue 9); the result must be
exactly pandas' own ``astype("string")``, whatever the column holds."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given, strategies as st

from ocop_analysis import schema

VALUES = st.one_of(st.text(), st.none(), st.just(np.nan), st.just(pd.NA), st.integers(-10**6, 10**6),
                   st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
                   st.sampled_from(["Hạt sen sấy", "HTX Mỹ Xương", "", "  ", "\u00a0"]))


@given(st.lists(VALUES, max_size=30))
def test_text_column_equals_astype_string(values):
    column = pd.Series(values, dtype=object, name="product_name")
    pd.testing.assert_series_equal(schema.text_column(column), column.astype("string"))


def test_coerce_keeps_text_numbers_and_blanks():
    frame = schema.coerce_evaluations([{"product_name": "Trà sen", "product_code": 123},
                                       {"product_name": None, "product_code": "DT-01"}])
    assert frame["product_name"].tolist()[0] == "Trà sen" and frame["product_name"].isna().tolist() == [False, True]
    assert frame["product_code"].tolist() == ["123", "DT-01"]
    assert str(frame["product_name"].dtype) == "string" and not any(
        isinstance(v, float) and math.isnan(v) for v in frame["product_name"].tolist())
