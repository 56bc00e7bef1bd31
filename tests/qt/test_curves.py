import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters as exporters
import pytest

from bpstudio.qt.curves import HistoryCurve, peak_reduce
from tests.qt.test_builder import image_array

RED = (220, 30, 30)


def spans_by_hand(x, y, lo, hi, bins):
    """peak_reduce written the slow way: one span at a time."""
    inside = np.flatnonzero((x >= lo) & (x <= hi))
    first, last = max(inside[0] - 1, 0), min(inside[-1] + 1, len(x) - 1)
    xs, ys = [], []
    for span in range(-1, bins + 1):
        members = [
            i
            for i in range(first, last + 1)
            if min(max(np.floor((x[i] - lo) * bins / (hi - lo)), -1), bins) == span
        ]
        if members:
            values = y[members]
            values = values[~np.isnan(values)]
            low, high = (values.min(), values.max()) if values.size else (np.nan, np.nan)
            xs += [x[members[0]]] * 2
            ys += [low, high]
    return np.array(xs), np.array(ys)


@pytest.mark.parametrize("seed", range(5))
def test_peak_reduce_keeps_the_lowest_and_highest_of_every_span(seed):
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.uniform(0.5, 1.5, 3000))
    y = rng.normal(size=3000)
    y[rng.choice(3000, 300, replace=False)] = np.nan
    y[100:140] = np.nan  # whole spans of NaN stay gaps
    lo, hi = x[200] + 0.3, x[2700] - 0.3
    got = peak_reduce(x, y, lo, hi, 150)
    expected = spans_by_hand(x, y, lo, hi, 150)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])
    assert got[0][0] < lo and got[0][-1] > hi  # the line runs to the view's edges
    assert len(got[0]) <= 2 * 152


def test_peak_reduce_gives_few_points_back_as_they_are():
    x, y = np.arange(10.0), np.arange(10.0) ** 2
    rx, ry = peak_reduce(x, y, 2.5, 6.5, 50)
    np.testing.assert_array_equal(rx, x[2:8])
    np.testing.assert_array_equal(ry, y[2:8])


@pytest.fixture
def plot(qtbot):
    widget = pg.PlotWidget(background="w")
    widget.resize(500, 300)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def red_pixels(widget) -> np.ndarray:
    """(rows, columns) of the pixels drawn in the curve's red."""
    rgb = image_array(widget.grab().toImage()).astype(int)
    return np.argwhere(np.abs(rgb - RED).sum(axis=-1) < 30)


def test_history_curve_draws_its_peaks_and_exports_every_point(plot, tmp_path):
    x = np.arange(20_000.0)
    y = np.zeros_like(x)
    y[12_345] = 1.0  # one step's spike among 20,000: the reduction must keep it
    curve = HistoryCurve(pg.mkPen(RED, width=2), "layer")
    plot.addItem(curve)
    curve.setData(x, y)
    plot.setYRange(-0.1, 1.1, padding=0)
    # Zoomed in, the points in view are drawn one by one.
    plot.setXRange(12_300, 12_400, padding=0)
    zoomed = red_pixels(plot)
    assert np.ptp(zoomed[:, 1]) > 400
    assert np.ptp(zoomed[zoomed[:, 0] < np.median(zoomed[:, 0]) - 20][:, 1]) > 5  # a wide spike
    # Then the whole run (drawn for the view as it is now, not as it was first painted).
    plot.setXRange(0, 20_000, padding=0)
    drawn = red_pixels(plot)
    rows = drawn[:, 0]
    # The flat line across the plot, and the spike up to the top, nothing anywhere else.
    base = np.median(rows)
    spike = drawn[rows < base - 20]
    assert len(spike) and np.ptp(spike[:, 1]) <= 3  # one column, about 12,345 / 20,000 across
    columns = drawn[:, 1]
    assert abs(spike[:, 1].mean() - (columns.min() + 0.617 * np.ptp(columns))) < 5
    near_spike = np.abs(drawn[:, 1] - spike[:, 1].mean()) <= 4
    assert np.all((np.abs(rows - base) <= 2) | near_spike)
    assert np.ptp(columns) > 400

    exporter = exporters.CSVExporter(plot.getPlotItem())
    exporter.export(str(tmp_path / "curve.csv"))
    lines = (tmp_path / "curve.csv").read_text().splitlines()
    assert lines[0] == "layer_x,layer_y" and len(lines) == 20_001  # every point, not the drawn
    assert lines[12_346].startswith("12345") and float(lines[12_346].split(",")[1]) == 1.0


def test_history_curve_leaves_gaps_where_values_are_not_finite(plot):
    x = np.arange(1000.0)
    y = np.where((x > 400) & (x < 600), np.nan, 0.5)
    curve = HistoryCurve(pg.mkPen(RED, width=2))
    plot.addItem(curve)
    curve.setData(x, y)
    plot.setXRange(0, 1000, padding=0)
    plot.setYRange(0, 1, padding=0)
    columns = np.unique(red_pixels(plot)[:, 1])
    gaps = np.diff(columns)
    assert gaps.max() > 0.15 * np.ptp(columns)  # a fifth of the width left blank
    assert curve.dataBounds(1) == (0.5, 0.5) and curve.dataBounds(0) == (0.0, 999.0)


def test_history_curve_draws_new_data_and_log_mode(plot):
    # What a curve draws is kept between repaints while neither its data nor its view
    # changes: new data, even in the same array, and log mode are drawn at once.
    x = np.arange(3000.0)
    y = np.full_like(x, 0.2)
    curve = HistoryCurve(pg.mkPen(RED, width=2))
    plot.addItem(curve)
    curve.setData(x, y)
    plot.setXRange(0, 3000, padding=0)
    plot.setYRange(-1, 1, padding=0)
    low = np.median(red_pixels(plot)[:, 0])
    y[:] = 0.8
    curve.setData(x, y)
    high = np.median(red_pixels(plot)[:, 0])
    assert high < low - 40  # higher up the plot
    plot.setLogMode(y=True)  # log10(0.8) = -0.097: a little below the middle
    plot.setXRange(0, 3000, padding=0)  # (log mode turns autorange on)
    plot.setYRange(-1, 1, padding=0)
    assert curve.dataBounds(1)[0] == pytest.approx(np.log10(0.8))
    assert curve.getData()[1][0] == 0.8  # the data as given
    middle = np.median(red_pixels(plot)[:, 0])
    assert middle > low > high  # below the 0.2 line drawn before


def test_a_styled_plot_offers_only_the_options_its_curves_honour(plot):
    from bpstudio.qt import theme

    item = theme.style_plot(plot.getPlotItem(), "Curves")
    assert [a.text() for a in item.ctrlMenu.actions()] == list(theme.PLOT_OPTIONS)
    curve = HistoryCurve(pg.mkPen(RED, width=2))
    plot.addItem(curve)
    item.ctrl.alphaGroup.setChecked(True)
    item.ctrl.autoAlphaCheck.setChecked(False)
    item.ctrl.alphaSlider.setValue(500)  # of 1000
    assert curve.opacity() == pytest.approx(0.25)  # pyqtgraph squares the slider's value
