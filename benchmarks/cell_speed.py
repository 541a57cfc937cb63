"""Benchmark: forward + backward time of the from-scratch cells against Keras' built-in layers.

    python benchmarks/cell_speed.py [--batch 64] [--time 100] [--units 64] [--repeats 20]

Each layer runs inside one compiled ``tf.function`` (a forward pass and the gradient of the
sum of its outputs with respect to its weights) on the same random batch; the median of
``--repeats`` timed runs is reported after two warm-up runs. Prints one line per cell and the
ratio scratch / Keras.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from seqcourse.layers import ScratchGRUCell, ScratchLSTMCell, ScratchRNNCell  # noqa: E402

PAIRS = {
    "SimpleRNN": (keras.layers.SimpleRNN, ScratchRNNCell),
    "LSTM": (keras.layers.LSTM, ScratchLSTMCell),
    "GRU": (keras.layers.GRU, ScratchGRUCell),
}


def median_step_time(layer, x, repeats: int) -> float:
    """Median seconds of one forward + backward pass of ``layer`` on ``x``."""
    layer(x)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(x))
        return tape.gradient(loss, layer.trainable_variables)

    for _ in range(2):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--time", type=int, default=100)
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    x = tf.constant(
        np.random.default_rng(0).normal(size=(args.batch, args.time, args.features)), tf.float32
    )
    print(
        f"batch {args.batch}, time {args.time}, features {args.features}, units {args.units}, {tf.config.list_physical_devices()}"
    )
    for name, (keras_layer, scratch_cell) in PAIRS.items():
        reference = median_step_time(
            keras_layer(args.units, return_sequences=True), x, args.repeats
        )
        scratch = median_step_time(
            keras.layers.RNN(scratch_cell(args.units), return_sequences=True), x, args.repeats
        )
        print(
            f"{name:9s}  keras {reference * 1e3:7.1f} ms   scratch {scratch * 1e3:7.1f} ms   ratio {scratch / reference:.2f}"
        )


if __name__ == "__main__":
    main()
