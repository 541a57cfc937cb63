"""Public checks of notebook 10 (time series). Oracles: ``seqcourse.windows.forecast_windows``
(keras.utils.timeseries_dataset_from_array) and ``seqcourse.forecasting``."""

from __future__ import annotations

import numpy as np

from seqcourse.grading.public_checks import CheckFailed, assert_close, assert_shape, public_check


@public_check("10.1", "matches keras.utils.timeseries_dataset_from_array windows")
def _windows_match(make_windows):
    from seqcourse.windows import forecast_windows

    series = np.sin(np.arange(40) / 3) + np.arange(40) / 10
    inputs, targets = make_windows(series, 6, 4)
    want = [
        (x.numpy()[..., 0], y.numpy())
        for x, y in forecast_windows(series, 6, 4, 6, 40, batch_size=100)
    ]
    want_x, want_y = want[0]
    assert_shape(inputs, want_x.shape, "inputs")
    assert_shape(targets, want_y.shape, "targets")
    assert_close(inputs, want_x, "inputs", atol=1e-6)
    assert_close(targets, want_y, "targets", atol=1e-6)


@public_check("10.1", "a target never overlaps its own input (horizon 1, window 1)")
def _windows_small(make_windows):
    inputs, targets = make_windows(np.array([1.0, 2.0, 3.0]), 1, 1)
    if np.asarray(inputs).tolist() != [[1.0], [2.0]] or np.asarray(targets).tolist() != [
        [2.0],
        [3.0],
    ]:
        raise CheckFailed(
            f"make_windows([1, 2, 3], 1, 1) gave inputs {np.asarray(inputs).tolist()} and targets "
            f"{np.asarray(targets).tolist()}; expected [[1], [2]] and [[2], [3]]"
        )


@public_check("10.2", "agrees with seqcourse.forecasting.seasonal_naive_forecast")
def _seasonal_mae(seasonal_naive_mae):
    from seqcourse.forecasting import seasonal_naive_forecast

    rng = np.random.default_rng(0)
    series = np.tile([1.0, 4.0, 2.0, 0.0], 12) + rng.normal(0, 0.3, 48)
    origins = np.arange(10, 40)
    expected = np.mean(
        np.abs(seasonal_naive_forecast(series, origins, 1, 4)[:, 0] - series[origins + 1])
    )
    assert_close(seasonal_naive_mae(series, origins, 4), expected, "seasonal naive MAE", atol=1e-9)


@public_check("10.2", "is zero on a purely seasonal series")
def _seasonal_zero(seasonal_naive_mae):
    series = np.tile([3.0, 1.0, 2.0], 6)
    got = seasonal_naive_mae(series, np.arange(5, 15), 3)
    if abs(got) > 1e-12:
        raise CheckFailed(f"a series that repeats every 3 steps should give MAE 0, got {got!r}")
