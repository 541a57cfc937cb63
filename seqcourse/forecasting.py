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
