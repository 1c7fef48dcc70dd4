"""plot_bubble_map: bubbles at the real centroids, area and colour by value, Vietnamese names, offline."""
import math
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from ocop_analysis import charts, geography
from ocop_analysis.charts.maps import bubble_sizes, plot_bubble_map

# 12 old districts of Đồng Tháp with made-up counts (one per district, all different, one zero)
COUNTS = dict(zip(range(866, 878), [5, 3, 2, 1, 4, 0, 6, 7, 9, 10, 8, 11]))


def _table():
    return pd.DataFrame({"district_code": list(COUNTS), "count": list(COUNTS.values())})


def _bubbles(ax):
    [coll] = [c for c in ax.collections if c.get_gid() == "bubbles"]
    return coll


def test_bubbles_sit_at_the_district_centroids():
    ax = plot_bubble_map(_table(), value="count")
    coll = _bubbles(ax)
    coords = geography.district_coordinates("dong-thap").set_index("code")
    got = {tuple(np.round(xy, 6)) for xy in coll.get_offsets()}
    want = {(round(coords.loc[c, "lon"], 6), round(coords.loc[c, "lat"], 6)) for c in COUNTS}
    assert got == want and len(got) == 12


def test_bubble_area_grows_with_the_value():
    ax = plot_bubble_map(_table(), value="count", size_range=(20, 620))
    coll = _bubbles(ax)
    coords = geography.district_coordinates("dong-thap").set_index("code")
    by_position = {(round(coords.loc[c, "lon"], 6), round(coords.loc[c, "lat"], 6)): v for c, v in COUNTS.items()}
    pairs = sorted((by_position[tuple(np.round(xy, 6))], s) for xy, s in zip(coll.get_offsets(), coll.get_sizes()))
    values, sizes = zip(*pairs)
    assert all(b > a for a, b in zip(sizes, sizes[1:]))  # strictly increasing with the (distinct) values
    # area linear in value: 0 → 20, 11 (max) → 620, 5 → 20 + 600 * 5/11
    assert sizes[0] == pytest.approx(20) and sizes[-1] == pytest.approx(620)
    assert dict(pairs)[5] == pytest.approx(20 + 600 * 5 / 11)


def test_colour_grows_with_the_value():
    ax = plot_bubble_map(_table(), value="count", cmap="Greys")
    coll = _bubbles(ax)
    grey = [np.mean(c[:3]) for c in coll.get_facecolors()]  # darker = larger value in Greys
    sizes = coll.get_sizes()
    order = np.argsort(sizes)
    assert all(grey[order[i]] >= grey[order[i + 1]] for i in range(len(order) - 1))


def test_labels_carry_vietnamese_names_and_values():
    ax = plot_bubble_map(_table(), value="count")
    texts = [t.get_text() for t in ax.texts]
    assert "H. Lai Vung\n8" in texts and "TP. Sa Đéc\n3" in texts and "H. Tháp Mười\n6" in texts
    assert ax.get_title() == "Bản đồ theo vị trí thực"
    assert plot_bubble_map(_table(), value="count", lang="en", ax=plt.subplots()[1]).get_title() == "Map at real positions"
    assert not [t for t in plot_bubble_map(_table(), value="count", label=False, scale_km=None,
                                           ax=plt.subplots()[1]).texts]


def test_north_up_and_distances_kept_by_the_aspect():
    ax = plot_bubble_map(_table(), value="count")
    lat = geography.district_coordinates("dong-thap")["lat"].mean()
    assert ax.get_aspect() == pytest.approx(1 / math.cos(math.radians(lat)))
    y_of = {t.get_text().split("\n")[0]: t.xy[1] for t in ax.texts if "\n" in t.get_text()}
    assert y_of["H. Tân Hồng"] > y_of["TP. Cao Lãnh"] > y_of["H. Lai Vung"]  # north at the top
    assert ax.get_ylim()[0] < ax.get_ylim()[1]


def test_lat_lon_input_and_missing_values():
    data = pd.DataFrame({"name": ["Xã Lai Vung", "Phường Sa Đéc", "Xã Cái Bè"], "lat": [10.30, 10.33, 10.34],
                         "lon": [105.56, 105.74, 106.01], "count": [4, np.nan, 2]})
    ax = plot_bubble_map(data, value="count", size_range=(10, 110))
    coll = _bubbles(ax)
    sizes = dict(zip(map(tuple, np.round(coll.get_offsets(), 2)), coll.get_sizes()))
    assert sizes[(105.56, 10.30)] == pytest.approx(110) and sizes[(106.01, 10.34)] == pytest.approx(60)
    assert sizes[(105.74, 10.33)] == pytest.approx(10)  # missing: smallest, grey, "–"
    faces = dict(zip(map(tuple, np.round(coll.get_offsets(), 2)), map(to_hex, coll.get_facecolors())))
    assert faces[(105.74, 10.33)] == "#bdbdbd"
    assert "Phường Sa Đéc\n–" in [t.get_text() for t in ax.texts]


def test_commune_codes_use_the_2025_communes():
    data = pd.DataFrame({"commune_code": [30226, 29905, 28360], "count": [3, 1, 2]})
    ax = plot_bubble_map(data, value="count")
    texts = [t.get_text() for t in ax.texts]
    assert "Xã Lai Vung\n3" in texts and "Xã Cái Bè\n2" in texts
    c = geography.commune_coordinates("dong-thap").set_index("code")
    assert (round(c.loc[28360, "lon"], 6), round(c.loc[28360, "lat"], 6)) in {
        tuple(np.round(xy, 6)) for xy in _bubbles(ax).get_offsets()}


def test_many_units_label_only_the_largest():
    c = geography.commune_coordinates("dong-thap")
    data = pd.DataFrame({"commune_code": c["code"], "count": range(len(c))})
    ax = plot_bubble_map(data, value="count", max_labels=5, scale_km=None)
    assert len(ax.texts) == 5
    assert {t.get_text().split("\n")[1] for t in ax.texts} == {"97", "98", "99", "100", "101"}


def test_rows_without_a_position_are_an_error():
    with pytest.raises(ValueError, match="lat/lon"):
        plot_bubble_map(pd.DataFrame({"x": [1], "count": [1]}), value="count")
    with pytest.raises(ValueError, match="no coordinates"):
        plot_bubble_map(pd.DataFrame({"district_code": [999], "count": [1]}), value="count")


def test_bubble_sizes_are_linear_in_area():
    assert bubble_sizes([0, 5, 10], size_range=(10, 110)).tolist() == [10, 60, 110]
    assert bubble_sizes([0, 0], size_range=(10, 110)).tolist() == [10, 10]
    assert bubble_sizes([-1, np.nan, 4], size_range=(0, 100), vmax=8).tolist() == [0, 0, 50]


def test_renders_to_png_without_missing_glyphs(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with charts.theme():
            ax = plot_bubble_map(_table(), value="count")
            paths = charts.save(ax.figure, "bubble_map_districts", formats=("png",), out_dir=tmp_path)
    glyphs = [w for w in caught if "glyph" in str(w.message).lower() or "missing from" in str(w.message).lower()]
    assert not glyphs, [str(w.message) for w in glyphs]
    assert paths[0].exists() and paths[0].stat().st_size > 10_000
    assert hasattr(charts, "plot_bubble_map")  # re-exported by the charts package
