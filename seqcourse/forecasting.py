"""Forecasting baselines and scaled errors (notebook 10).

Forecasts are made from *origins*: ``origins[i]`` is the last observed step, and row ``i``
of a forecast holds the predictions for steps ``origins[i] + 1 ... origins[i] + horizon``.
"""

from __future__ import annotations

import numpy as np


def last_value_forecast(series, origins, horizon: int) -> np.ndarray:
    """Naive forecast: the last observed value for every future step. Returns (n, horizon)."""
    series, origins = np.asarray(series, float), np.asarray(origins)
    return np.repeat(series[origins][:, None], horizon, axis=1)


def seasonal_naive_forecast(series, origins, horizon: int, period: int) -> np.ndarray:
    """Seasonal naive forecast: the value one season (``period`` steps) before each target,
    from the observed part (``k`` seasons back when the horizon exceeds a season).

    Returns (n, horizon). Raises ValueError if an origin has less than one season of history.
    """
    series, origins = np.asarray(series, float), np.asarray(origins)
    if np.any(origins + 1 - period < 0):
        raise ValueError(f"every origin needs at least one period ({period} steps) of history")
    h = np.arange(1, horizon + 1)
    seasons_back = np.ceil(h / period).astype(int)
    return series[origins[:, None] + h[None] - seasons_back[None] * period]


def mase(forecast, actual, train, period: int = 1) -> float:
    """Mean absolute scaled error: MAE of the forecast divided by the in-sample MAE of the
    ``period``-step naive forecast on the training series (< 1: better than that naive)."""
    train = np.asarray(train, float)
    scale = np.mean(np.abs(train[period:] - train[:-period]))
    return float(np.mean(np.abs(np.asarray(forecast) - np.asarray(actual))) / scale)


def forecast_recursively(step, series, origins, window: int, horizon: int) -> np.ndarray:
    """Recursive multi-step forecast: a one-step model's predictions fed back as inputs.

    ``step`` maps windows (batch, window) to next-step predictions (batch,). From each origin
    ``t`` it sees ``series[t - window + 1 : t + 1]``; each prediction is appended to the window
    and the oldest value dropped before the next step. Returns (n, horizon).

    Example:
        >>> forecast_recursively(lambda w: w[:, -1] + 1, np.arange(5.0), [2, 4], 2, 3)
        array([[3., 4., 5.],
               [5., 6., 7.]])
    """
    series, origins = np.asarray(series, float), np.asarray(origins)
    windows = np.stack([series[t - window + 1 : t + 1] for t in origins])
    predictions = []
    for _ in range(horizon):
        predictions.append(np.asarray(step(windows), float).reshape(len(origins)))
        windows = np.concatenate([windows[:, 1:], predictions[-1][:, None]], axis=1)
    return np.stack(predictions, axis=1)
