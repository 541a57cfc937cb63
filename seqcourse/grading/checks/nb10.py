"""Public checks of notebook 10 (time series). Oracle of 10.1: a one-step "model" the judge
controls — a linear autoregression — whose recursive forecast has a closed form: the power of
its companion matrix applied to the last observed window."""

from __future__ import annotations

import numpy as np

from seqcourse.grading.probes import recursive_probe
from seqcourse.grading.public_checks import (
    CheckFailed,
    assert_close,
    assert_shape,
    fresh_rng,
    probe_with,
    public_check,
    replaces,
)

WINDOW, HORIZON, LENGTH = 4, 7, 40  # a horizon longer than the window: every input replaced
ATOL = 1e-8

replaces("10.1", "forecast_recursively")

# ---------------------------------------------------------------- 10.1 recursive_forecast
#
# Probe (in the student's kernel): call the student's function with a one-step model that is
# a linear autoregression, next = window @ coefs + bias. Judge (here): the forecast from each
# origin is the last entry of A^h s, where s = (window, 1) and A the companion matrix; the
# classic wrong answers (truth fed back, the window shifted by one step) are computed for
# diagnosis only.


def _closed_form(series, origins, horizon: int, coefs, bias: float) -> np.ndarray:
    """Recursive forecasts of the linear step from the companion matrix: (n, horizon)."""
    window = len(coefs)
    companion = np.zeros((window + 1, window + 1))
    companion[np.arange(window - 1), np.arange(1, window)] = 1  # shift the window left
    companion[window - 1, :window], companion[window - 1, window] = coefs, bias
    companion[window, window] = 1  # the constant
    states = np.stack([np.r_[series[t - window + 1 : t + 1], 1.0] for t in origins], axis=1)
    power, rows = np.eye(window + 1), []
    for _ in range(horizon):
        power = companion @ power
        rows.append((power @ states)[window - 1])
    return np.stack(rows, axis=1)


def _one_step(series, ends, coefs, bias: float) -> np.ndarray:
    """The step applied to the true windows ending at each of ``ends``."""
    window = len(coefs)
    return np.array([series[e - window + 1 : e + 1] @ coefs + bias for e in ends])


class _Observed:
    """One probe of a student's function on a random series and linear one-step model."""

    def __init__(self, forecast, seed: int, window=WINDOW, horizon=HORIZON, length=LENGTH):
        rng = fresh_rng(seed)
        self.window, self.horizon = window, horizon
        self.series = rng.normal(size=length).cumsum()
        self.origins = np.sort(rng.choice(np.arange(window, length - horizon - 1), 5, False))
        coefs = rng.normal(size=window)
        self.coefs, self.bias = 0.9 * coefs / np.abs(coefs).sum(), float(rng.normal())
        args = (self.series, self.origins, window, horizon, self.coefs, self.bias)
        got = probe_with(forecast, recursive_probe, *args)
        self.got = assert_shape(got, (len(self.origins), horizon), "the forecast")
        self.expected = _closed_form(self.series, self.origins, horizon, self.coefs, self.bias)

    def diagnose(self) -> str:
        """The classic mistake that reproduces the student's forecast, if any."""
        s, t, h = self.series, self.origins, np.arange(self.horizon)
        if np.allclose(self.got, self._shifted(-1), atol=1e-6):
            return (
                "your first window ends one step before the origin: from origin t the model "
                "sees series[t - window + 1 : t + 1], up to and including t. "
            )
        if np.allclose(self.got, self._shifted(1), atol=1e-6):
            return (
                "your first window ends one step after the origin, so it contains the value "
                "to forecast: it is series[t - window + 1 : t + 1]. "
            )
        if np.allclose(self.got, _one_step(s, (t[:, None] + h).ravel(), self.coefs, self.bias)
                       .reshape(self.got.shape), atol=1e-6):  # fmt: skip
            return (
                "you fed back the true values, not the model's predictions: after the first "
                "step a forecast cannot know the series, append your own prediction. "
            )
        if np.allclose(self.got, self._prepended(), atol=1e-6):
            return (
                "you put each prediction at the start of the window: the window runs oldest "
                "to newest, so drop the first value and append the prediction at the end. "
            )
        return ""

    def _prepended(self) -> np.ndarray:
        """The mistake of shifting the window the wrong way (prediction first)."""
        w = np.stack([self.series[t - self.window + 1 : t + 1] for t in self.origins])
        out = []
        for _ in range(self.horizon):
            out.append(w @ self.coefs + self.bias)
            w = np.concatenate([out[-1][:, None], w[:, :-1]], axis=1)
        return np.stack(out, axis=1)

    def _shifted(self, shift: int) -> np.ndarray:
        return _closed_form(self.series, self.origins + shift, self.horizon, self.coefs, self.bias)

    def compare(self, columns, what: str) -> None:
        try:
            assert_close(self.got[:, columns], self.expected[:, columns], what, atol=ATOL)
        except CheckFailed as err:
            raise CheckFailed(f"{self.diagnose()}{err}") from None


def assert_recursive(forecast, window: int, horizon: int, seed: int = 0):
    """Every judgement of exercise 10.1 for other sizes (for hidden tests): CheckFailed if any
    fails."""
    seen = _Observed(forecast, seed, window, horizon, length=window + horizon + 30)
    seen.compare(slice(None), f"the {horizon}-step forecast (window {window})")


@public_check(
    "10.1", "returns one row of `horizon` forecasts per origin, shape (origins, horizon)", gate=True
)
def _recursive_shape(recursive_forecast):
    _Observed(recursive_forecast, 1)


@public_check("10.1", "the first forecast is the one-step model on series[t - window + 1 : t + 1]")
def _recursive_first(recursive_forecast):
    _Observed(recursive_forecast, 2).compare(0, "the forecast one step ahead")


@public_check(
    "10.1",
    "later forecasts feed the model's own predictions back (checked in closed form for a "
    "linear one-step model)",
)
def _recursive_all(recursive_forecast):
    _Observed(recursive_forecast, 3).compare(slice(None), f"the {HORIZON}-step forecast")
