"""Notebook 10: windowing (targets align with inputs, no leakage across a split), the
baselines on a hand-made series, missing-value handling and the Jena CSV loader."""

import numpy as np
import pytest

from seqcourse.datasets.series import fill_gaps, load_co2, load_jena_csv, load_sunspots
from seqcourse.forecasting import last_value_forecast, mase, seasonal_naive_forecast
from seqcourse.windows import forecast_windows


def collect(ds):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds], strict=True)
    return np.concatenate(xs), np.concatenate(ys)


# ---------------------------------------------------------------- windows


def test_targets_follow_their_inputs():
    series = np.arange(100, dtype=float)  # value = step index
    x, y = collect(forecast_windows(series, window=5, horizon=3, first_target=20, end=40))
    assert x.shape[1:] == (5, 1) and y.shape[1:] == (3,)
    np.testing.assert_array_equal(y[:, 0], x[:, -1, 0] + 1)  # first target right after the input
    np.testing.assert_array_equal(np.diff(x[..., 0], axis=1), 1)
    np.testing.assert_array_equal(np.diff(y, axis=1), 1)


def test_targets_stay_inside_the_split():
    series = np.arange(100, dtype=float)
    x, y = collect(forecast_windows(series, window=8, horizon=4, first_target=30, end=60))
    assert y.min() == 30 and y.max() == 59  # every target in [30, 60), all of them used
    assert x.max() < 59  # inputs are strictly before their targets
    assert len(y) == 60 - 30 - 4 + 1


def test_training_windows_never_see_test_values():
    series = np.arange(200, dtype=float)
    train_x, train_y = collect(forecast_windows(series, 10, 5, first_target=10, end=150))
    assert train_x.max() < 150 and train_y.max() < 150


def test_multivariate_inputs_and_target_column():
    series = np.stack([np.arange(50.0), -np.arange(50.0)], axis=1)
    x, y = collect(forecast_windows(series, 4, 2, first_target=10, end=20, target_column=1))
    assert x.shape[1:] == (4, 2)
    np.testing.assert_array_equal(y[:, 0], x[:, -1, 1] - 1)


def test_window_errors():
    with pytest.raises(ValueError, match="history"):
        forecast_windows(np.zeros(50), 10, 1, first_target=5, end=20)
    with pytest.raises(ValueError, match="do not fit"):
        forecast_windows(np.zeros(50), 5, 10, first_target=45, end=50)


# ---------------------------------------------------------------- baselines and metrics


def test_last_value_forecast_repeats_the_value_at_each_origin():
    series = np.array([5.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0])
    forecast = last_value_forecast(series, np.array([2, 5, 7]), horizon=3)
    np.testing.assert_array_equal(forecast, [[4, 4, 4], [9, 9, 9], [6, 6, 6]])


def test_seasonal_naive_is_exact_on_a_purely_seasonal_series():
    series = np.tile([1.0, 3.0, 2.0, 0.0], 10)  # period 4
    seasonal = seasonal_naive_forecast(series, np.array([3, 4, 5, 6, 30]), horizon=3, period=4)
    np.testing.assert_array_equal(seasonal, [[1, 3, 2], [3, 2, 0], [2, 0, 1], [0, 1, 3], [0, 1, 3]])
    with pytest.raises(ValueError, match="period"):
        seasonal_naive_forecast(series, np.array([2]), horizon=1, period=4)


def test_seasonal_naive_beyond_one_season_repeats_the_last_observed_season():
    series = np.arange(12.0) ** 2  # no season at all: every value names its step
    forecast = seasonal_naive_forecast(series, np.array([4, 6]), horizon=7, period=3)
    # from origin 4 the last observed season is steps 2, 3, 4 (values 4, 9, 16), repeated
    np.testing.assert_array_equal(forecast, [[4, 9, 16, 4, 9, 16, 4], [16, 25, 36, 16, 25, 36, 16]])


def test_seasonal_naive_never_reads_past_its_origin():
    series = np.arange(20.0) ** 2
    for origin in (3, 7, 10):
        hidden = series.copy()
        hidden[origin + 1 :] = np.nan  # the future is unknown at the origin
        forecast = seasonal_naive_forecast(hidden, np.array([origin]), horizon=9, period=4)
        assert np.isfinite(forecast).all()
        assert set(forecast[0]) == set(series[origin - 3 : origin + 1])


def test_mase_scales_by_the_in_sample_naive_error():
    train = np.array([0.0, 2.0, 4.0, 6.0])  # one-step naive error = 2
    assert mase(np.array([1.0, 1.0]), np.array([0.0, 2.0]), train) == pytest.approx(0.5)
    assert mase(np.array([1.0]), np.array([1.0]), train, period=2) == 0.0


def test_mase_with_a_seasonal_scale():
    train = np.array([2.0, 0.0, 5.0, 1.0, 9.0, 4.0])
    # 2-step naive errors on train: |5-2|, |1-0|, |9-5|, |4-1| -> mean 11/4; the forecast's
    # errors: |3-1|, |1-2|, |2-6| -> mean 7/3 (with period 1 the scale would be 24/5)
    got = mase(np.array([3.0, 1.0, 2.0]), np.array([1.0, 2.0, 6.0]), train, period=2)
    assert got == pytest.approx((7 / 3) / (11 / 4))


# ---------------------------------------------------------------- data


def test_fill_gaps_interpolates_and_reports():
    filled, missing = fill_gaps(np.array([1.0, np.nan, np.nan, 4.0, 5.0]))
    np.testing.assert_allclose(filled, [1, 2, 3, 4, 5])
    assert missing.tolist() == [False, True, True, False, False]
    with pytest.raises(ValueError, match="starts or ends"):
        fill_gaps(np.array([np.nan, 1.0]))


def test_embedded_series():
    dates, co2, missing = load_co2()
    assert len(co2) == 2284 and missing.sum() == 59 and not np.isnan(co2).any()
    assert 310 < co2[0] < 320 and 365 < co2[-1] < 375
    assert np.all(np.diff(dates) == np.timedelta64(7, "D"))
    years, spots = load_sunspots()
    assert years[0] == 1700 and len(spots) == len(years) == 309


JENA_HEADER = '"Date Time","p (mbar)","T (degC)","rh (%)"\n'


def test_jena_loader_on_a_small_file(tmp_path):
    path = tmp_path / "jena_climate_2009_2016.csv"
    path.write_text(
        JENA_HEADER
        + "01.01.2009 00:10:00,996.52,-8.02,93.30\n"
        + "01.01.2009 00:20:00,996.57,-8.41,93.40\n"
        + "01.01.2009 00:30:00,996.53,-8.51,93.90\n"
    )
    times, values, columns = load_jena_csv(path)
    assert columns == ["p (mbar)", "T (degC)", "rh (%)"]
    assert values.shape == (3, 3) and values.dtype == np.float32
    assert np.all(np.diff(times) == np.timedelta64(600, "s"))
    np.testing.assert_allclose(values[:, 1], [-8.02, -8.41, -8.51], rtol=1e-6)


@pytest.mark.parametrize(
    ("body", "message"),
    [("01.01.2009 00:10:00,1,2\n", "line 2: 3 fields"),
     ("2009-01-01 00:10,1,2,3\n", "line 2: time data"),
     ("01.01.2009 00:10:00,1,x,3\n", "line 2: could not convert"),
     ("01.01.2009 00:20:00,1,2,3\n01.01.2009 00:10:00,1,2,3\n", "line 3: time does not increase"),
     ("", "no data rows")],
)  # fmt: skip
def test_jena_loader_errors_name_the_line(tmp_path, body, message):
    path = tmp_path / "jena.csv"
    path.write_text(JENA_HEADER + body)
    with pytest.raises(ValueError, match=message):
        load_jena_csv(path)


def test_recursive_forecast_feeds_its_predictions_back():
    from seqcourse.forecasting import forecast_recursively
    from seqcourse.grading.checks.nb10 import assert_recursive

    # a "model" that continues a straight line: exact whatever the horizon
    line = forecast_recursively(lambda w: 2 * w[:, -1] - w[:, -2], np.arange(10.0), [3, 7], 2, 4)
    np.testing.assert_array_equal(line, [[4, 5, 6, 7], [8, 9, 10, 11]])
    assert_recursive(forecast_recursively, window=3, horizon=5, seed=1)  # closed-form judge
