"""Video models of notebook 09: the reference answer the lesson falls back on."""

from __future__ import annotations


def cnn_gru_classifier(frame_encoder, num_classes: int, units: int = 64):
    """Many-to-one over frames: ``frame_encoder`` (a Keras model, one frame (height, width,
    channels) -> (features,)) applied to every frame by ``TimeDistributed``, a GRU reading the
    frame features in order, and a softmax over ``num_classes`` from its final state.

    Returns a ``keras.Model``: clips (batch, time, height, width, channels), any number of
    frames -> class probabilities (batch, num_classes).

    Example:
        >>> encoder = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten()])
        >>> model = cnn_gru_classifier(encoder, num_classes=3, units=4)
        >>> tuple(model(np.zeros((2, 5, 8, 8, 1))).shape)
        (2, 3)
    """
    import keras

    clips = keras.Input((None, *frame_encoder.input_shape[1:]), name="clip")
    features = keras.layers.TimeDistributed(frame_encoder)(clips)  # (batch, time, features)
    state = keras.layers.GRU(units)(features)  # the final state only: many-to-one
    return keras.Model(clips, keras.layers.Dense(num_classes, activation="softmax")(state))
