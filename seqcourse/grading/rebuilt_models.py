"""The judge's side of a model exercise (3.1, 5.2): the student's model, exported by its probe as
plain data — its Keras config (JSON) and its weight arrays — is rebuilt and run here, in the
grader, so the outputs a judge compares are never the kernel's word. A wrong model cannot borrow
a right model's outputs: whatever the kernel's calls return, the grader computes what the model
the student built (its config) does with its weights and with weights the grader chose.

Only Keras' own classes are rebuilt, with ``safe_mode`` on: no ``Lambda``, no custom, subclassed
or registered classes (the exercises ask for a model of Keras layers). No number in the config
may exceed a bound the check sets from the sizes it asks for, so a config cannot make the grader
allocate gigabytes before its weights are compared.
"""

from __future__ import annotations

import json

import numpy as np

from seqcourse.grading.probes import loaded_outputs

# Keras classes that carry code or foreign objects, never rebuilt
REFUSED = {"Lambda", "TFSMLayer", "TorchModuleWrapper", "JaxLayer", "FlaxLayer"}
MAX_CONFIG_CHARS = 1_000_000
ADVICE = (
    "build it from Keras' own layers (keras.Sequential, or keras.Model on keras.layers), "
    "without Lambda layers or classes of your own"
)


def refused_part(config, limit: int, key: str = "") -> str | None:
    """Why the parsed Keras ``config`` may not be rebuilt here (a class that is not Keras' own,
    a code-carrying layer, a number above ``limit``), or None if it may."""
    if isinstance(config, bool) or config is None or isinstance(config, (float, str)):
        return None
    if isinstance(config, int):
        return None if key == "seed" or config <= limit else f"{key}={config} (above {limit})"
    if isinstance(config, list):
        return next((r for item in config if (r := refused_part(item, limit, key))), None)
    if not isinstance(config, dict):
        return f"a value of type {type(config).__name__}"
    if "class_name" in config:
        name, module = config.get("class_name"), config.get("module")
        if name != "__keras_tensor__":
            if not (isinstance(module, str) and (module == "keras" or module.startswith("keras."))):
                return f"class {name!r} of module {module!r}, not Keras"
            if config.get("registered_name") not in (None, name) or name in REFUSED:
                return f"class {name!r}"
            if not _keras_class(module, name):
                return (
                    f"{name!r}, which is not a Keras layer, initializer, regularizer or constraint"
                )
    return next((r for k, v in config.items() if (r := refused_part(v, limit, str(k)))), None)


def _keras_class(module: str, name) -> bool:
    """Is ``module.name`` a class of Keras' own that a model config may hold?"""
    import importlib

    import keras

    try:
        cls = getattr(importlib.import_module(module), str(name), None)
    except ImportError:
        return False
    kinds = (
        keras.Operation,  # layers, models and the ops a functional model records
        keras.initializers.Initializer,
        keras.regularizers.Regularizer,
        keras.constraints.Constraint,
        keras.DTypePolicy,
    )
    return isinstance(cls, type) and issubclass(cls, kinds)


def rebuild(config_json, limit: int):
    """The ``keras.Model`` that ``config_json`` (``model.to_json()``) describes, built here;
    ValueError saying why it cannot be."""
    import keras

    if type(config_json) is not str or len(config_json) > MAX_CONFIG_CHARS:
        raise ValueError("its config did not arrive as JSON text of a sensible size")
    try:
        config = json.loads(config_json)
    except (ValueError, RecursionError) as err:
        raise ValueError(f"its config is not valid JSON ({str(err)[:80]})") from None
    refused = refused_part(config, limit)
    if refused:
        raise ValueError(f"its config holds {refused[:160]}")
    try:
        model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    except Exception as err:  # Keras' reason, which names the part of the config
        raise ValueError(
            f"Keras could not rebuild it ({type(err).__name__}: {err})"[:300]
        ) from None
    if not isinstance(model, keras.Model):
        raise ValueError(f"its config describes a {type(model).__name__}, not a keras.Model")
    return model


def rebuilt_run(run: dict, batches, load, limit: int) -> dict:
    """``run`` (what ``probes.model_run`` sent) with its ``outputs`` and ``loaded`` outputs
    replaced by those of the model rebuilt here from its config and weights, run on ``batches``
    with its own weights and then with ``load``; on failure ``rebuild_error`` says why (the
    kernel's outputs are then not used at all)."""
    if not run["is_model"]:
        return run
    rebuilt = {k: v for k, v in run.items() if k in ("type", "is_model", "weights")}
    try:
        model = rebuild(run.get("config"), limit)
    except ValueError as err:
        reason = run.get("config_error") if type(run.get("config_error")) is str else str(err)
        return {**rebuilt, "rebuild_error": f"{reason[:300]}: {ADVICE}"}
    try:
        model.set_weights(run["weights"])
    except Exception as err:
        return {
            **rebuilt,
            "rebuild_error": "the weights your model sent do not fit the model its config "
            f"describes ({type(err).__name__}: {str(err)[:160]})",
        }
    rebuilt["outputs"] = [np.asarray(model(x)) for x in batches]
    return {**rebuilt, **loaded_outputs(model, batches, load)}
