"""Hostile submissions of the exercises added with probe + judge checks: 3.2, 4.3, 5.1, 5.2,
6.1-6.3, 7.1, 9.1, 10.1, 11.1, 11.2, 12.1 and 12.2.

Each notebook is graded once (reduced masters, as in ``test_grader_models``), with one
submission per attack; a submission attacks every exercise of its notebook at once where the
attacks do not collide. The attacks marked WON below scored points before the fixes of
2026-11-27; each test checks the attack now scores what its honest code earns.

Not closable by a grader (say so, do not pretend): a student can copy the reference's source
text (the course package is installed in the kernel) or build a banned name from character
codes; the scan of the source (ast) catches names, attributes, imports, strings, string
fragments and run-time lookups (getattr with a computed name, vars, globals, __dict__,
importlib, __import__, sys.modules, eval/exec), not arbitrary obfuscation.
"""

from __future__ import annotations

import nbformat
import numpy as np
import pytest
from grading_copies import ROOT
from test_grader_models import BORROWED, _on, _score, _student, _with, grade_scenarios

BANNED = "scores 0"  # in the reason of an exercise that used what it replaces


@pytest.fixture(scope="module")
def graded(request, tmp_path_factory) -> dict:
    return grade_scenarios(request, tmp_path_factory)


def _banned(result, exercise) -> bool:
    return _score(result, exercise) == 0 and BANNED in result.exercises[exercise].reason


def _why(result) -> str:
    return str({k: (e.score, e.reason[:300]) for k, e in result.exercises.items()})


def _classes_1_to_3(student, probe: str, oracle: tuple, lookup: tuple | None = None):
    """One submission with issue 36's three attack classes: a cell that rebinds the grader's
    ``probe`` (class 1) before exercise ``oracle[0]``, which ``oracle[1]`` answers with the
    grader's own oracle (class 2), and exercise ``lookup[0]`` answered by ``lookup[1]``, a
    reference found by name at run time (class 3)."""
    rebind = f"import seqcourse.grading.probes as _p\n_p.{probe} = lambda *args, **kwargs: None\n"
    nb = _with(student, oracle[0], oracle[1], before=rebind)
    return _with(nb, *lookup) if lookup else nb


def _out_of_reach(result, exercise) -> bool:
    """Did ``exercise`` score 0 because the grader's code cannot be imported in the kernel?"""
    reason = result.exercises[exercise].reason + str(result.exercises[exercise].tests)
    return _score(result, exercise) == 0 and "does not exist in a graded kernel" in reason


# ---------------------------------------------------------------- 03: 3.1 and 3.2

# WON before: the references imported under other names in a cell of the student's own, which
# the scan of the exercise cell never read; 3.2 rebound by a star import after the stub.
ALIASES_03 = """from seqcourse.models import build_lstm_classifier as _b, last_real_step as _l"""
ANSWERS_03 = {
    "3.1": "def build_lstm_classifier(vocab_size, embedding_dim=32, units=32, bidirectional=False):\n"
    "    return _b(vocab_size, embedding_dim, units, bidirectional)\n",
    "3.2": "def last_real_step(outputs, mask):\n"
    "    raise NotImplementedError('Exercise 3.2: not attempted yet')\n\n"
    "from seqcourse.models import *\n",
}

# WON before: names built from fragments, found with getattr / __import__ (a default argument).
DYNAMIC_03 = {
    "3.1": "def build_lstm_classifier(vocab_size, embedding_dim=32, units=32, bidirectional=False):\n"
    "    build = getattr(seqcourse.models, 'build_lstm' + '_classifier')\n"
    "    return build(vocab_size, embedding_dim, units, bidirectional)\n",
    "3.2": "def last_real_step(outputs, mask, _f=getattr(__import__('seqcourse.models', "
    "fromlist=['x']), 'last_real' + '_step')):\n"
    "    return _f(outputs, mask)\n",
}

# WON before: the stubs left as released; a post_run_cell hook (in a cell before) rebinds them
# to the references, found without their names.
HOOK_03 = """
import seqcourse.models as _sm
def _rebind(result):
    namespace = get_ipython().user_ns
    for _k, _v in vars(_sm).items():
        if _k.startswith("build_lstm") or _k.startswith("last_real"):
            namespace[_k] = _v
get_ipython().events.register("post_run_cell", _rebind)
"""

# WON before: the checks module's model probe replaced in the kernel by one that probes the
# reference builder instead of the student's.
PROBE_PATCH_03 = """
import seqcourse.grading.checks.nb03 as _c
_orig = _c.classifier_probe
_c.classifier_probe = lambda build, *a: _orig(seqcourse.models.build_lstm_classifier, *a)
"""


# Issue 36, classes 2 and 3: 3.1 answered by the judge's own builder of the requested model,
# 3.2 by the reference found by name at run time.
ORACLE_03 = (
    "3.1",
    """def build_lstm_classifier(vocab_size, embedding_dim=32, units=32, bidirectional=False):
    from seqcourse.grading.checks.nb03 import _architecture
    return _architecture((vocab_size, embedding_dim, units), bidirectional)
""",
)
LOOKUP_03 = (
    "3.2",
    """def last_real_step(outputs, mask):
    import pkgutil
    return pkgutil.resolve_name(b"seqcourse.models:last_real_step".decode())(outputs, mask)
""",
)


def _sentiment(master) -> dict:
    student = _student(master)
    aliases = _with(student, "3.1", answer=ANSWERS_03["3.1"], before=ALIASES_03)
    return {
        "master": master,  # graded: the honest copy of these tests
        "aliases": _with(aliases, "3.2", answer=ANSWERS_03["3.2"]),
        "dynamic": _with(_with(student, "3.1", DYNAMIC_03["3.1"]), "3.2", DYNAMIC_03["3.2"]),
        "hook": _with(student, "3.1", before=HOOK_03),
        "probe_patch": _with(student, "3.1", before=PROBE_PATCH_03),
        "classes_1_3": _classes_1_to_3(student, "classifier_probe", ORACLE_03, LOOKUP_03),
    }


SENTIMENT = _on("03_sentiment.ipynb", _sentiment)


@SENTIMENT
def test_03_master_full_marks(graded):
    r = graded["master"]
    assert _score(r, "3.1") == 3 and _score(r, "3.2") == 2, _why(r)


@SENTIMENT
@pytest.mark.parametrize("name", ["aliases", "dynamic", "hook"])
def test_03_references_reached_another_way_score_zero(graded, name):
    r = graded[name]
    assert _banned(r, "3.1"), _why(r)
    assert _banned(r, "3.2"), _why(r)


@SENTIMENT
def test_03_the_graders_probes_and_oracles_and_lookups_by_name_earn_nothing(graded):
    r = graded["classes_1_3"]
    assert _out_of_reach(r, "3.1") and _banned(r, "3.2"), _why(r)


@SENTIMENT
def test_03_a_probe_patched_in_the_kernel_changes_nothing(graded):
    """The patch imports the checks module, which a graded kernel cannot (the grader sends its
    probes with each call): the stubs beside it stay stubs and score what stubs score."""
    r = graded["probe_patch"]
    assert {e: r.exercises[e].status for e in ("3.1", "3.2")} == {
        "3.1": "not attempted", "3.2": "not attempted"}, _why(r)  # fmt: skip


# ---------------------------------------------------------------- 04: 4.3

STATELESS = """def generate_ids(stepper, prompt_ids, length, temperature, rng, sample):
    ids = list(prompt_ids)
    for _ in range(length):
        states = stepper.initial_states(1)
        for token in ids:  # the whole prefix again at every step: right ids, quadratic work
            logits, states = stepper.step([token], states)
        row = np.asarray(logits[0], dtype="float64")
        ids.append(int(np.argmax(row)) if temperature is None else sample(row, temperature, rng))
    return ids
"""
# WON before: the same loop, then the probe's step counter (an attribute) overwritten.
FORGED_COUNT = STATELESS.replace("    return ids", "    stepper.calls = len(ids)\n    return ids")

# WON before (then 1.5 of 3 without the forgery): the same loop, with the course's probe
# patched in the kernel to report no step calls at all. The judge now recomputes what only a
# stateful loop can give (the grader's stepper shifts the logits of its n-th call), so the
# reported count no longer decides anything.
FORGED_PROBE_COUNT = """
import seqcourse.grading.checks.nb04 as _c
_original = _c.generation_probe
def _fewer_steps(*args):
    replies = _original(*args)
    for reply in replies:
        reply["steps"] = 0
    return replies
_c.generation_probe = _fewer_steps
"""

# WON before: the kernel's generation probe replaced by one that runs the reference loop.
PROBE_PATCH_04 = """
import seqcourse.grading.checks.nb04 as _c
_orig = _c.generation_probe
_c.generation_probe = lambda g, *a: _orig(seqcourse.sampling.__dict__["generate" + "_ids"], *a)
"""


ORACLE_04 = (
    "4.2",
    """def sample_with_temperature(logits, temperature, rng):
    from seqcourse.grading.checks.nb04 import _softmax
    p = _softmax(np.asarray(logits, "float64"), temperature)
    return int(rng.choice(len(p), p=p))
""",
)
LOOKUP_04 = (
    "4.3",
    """def generate_ids(stepper, prompt_ids, length, temperature, rng, sample):
    import pydoc
    reference = pydoc.locate(b"seqcourse.sampling.generate_ids".decode())
    return reference(stepper, prompt_ids, length, temperature, rng, sample)
""",
)


def _language_model(master) -> dict:
    return {
        "stateless": _with(master, "4.3", answer=STATELESS),
        "forged_count": _with(master, "4.3", answer=FORGED_COUNT),
        "forged_probe_count": _with(master, "4.3", answer=STATELESS, before=FORGED_PROBE_COUNT),
        "probe_patch": _with(_student(master), "4.3", before=PROBE_PATCH_04),
        "classes_1_3": _classes_1_to_3(_student(master), "sampler_probe", ORACLE_04, LOOKUP_04),
    }


LANGUAGE_MODEL = _on("04_char_language_model.ipynb", _language_model)


@LANGUAGE_MODEL
def test_04_a_forged_step_count_earns_nothing(graded):
    honest = _score(graded["stateless"], "4.3")
    assert 0 < honest < 3, _why(graded["stateless"])
    forged = graded["forged_count"]
    assert _score(forged, "4.3") == honest, _why(forged)
    assert any("calls of step" in t["message"] for t in forged.exercises["4.3"].tests)
    assert _score(graded["forged_probe_count"], "4.3") == honest, _why(graded["forged_probe_count"])


@LANGUAGE_MODEL
def test_04_the_graders_probes_and_oracles_and_lookups_by_name_earn_nothing(graded):
    r = graded["classes_1_3"]
    assert _out_of_reach(r, "4.2") and _banned(r, "4.3"), _why(r)


@LANGUAGE_MODEL
def test_04_a_patched_probe_running_the_reference_changes_nothing(graded):
    r = graded["probe_patch"]  # the patch cannot import the probe: 4.3 stays a stub
    assert _score(r, "4.3") == 0 and r.exercises["4.3"].status == "not attempted", _why(r)


# ---------------------------------------------------------------- 05: 5.1 and 5.2

# WON before: the references bound to other names (an import, an assignment) in a cell before.
ALIASES_05 = """
from seqcourse.metrics import masked_loss_and_accuracy as _loss
_tagger = seqcourse.models.build_tagger
"""
ANSWERS_05 = {
    "5.1": "def masked_loss_and_accuracy(y_true, logits, mask):\n    return _loss(y_true, logits, mask)\n",
    "5.2": "def build_tagger(vocab_size, n_tags, embedding_dim=64, units=64, bidirectional=True):\n"
    "    return _tagger(vocab_size, n_tags, embedding_dim, units, bidirectional)\n",
}

# Lost before and after: an ndarray subclass whose __eq__ always agrees and a NaN loss (5.1).
# The right tagger whose set_weights ignores the grader's weights (5.2): lost while the kernel
# ran the model; now the grader runs it, and the lie is moot.
LIARS_05 = {
    "5.1": """class _Liar(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(self), bool)
    def __float__(self):
        return 0.0

def masked_loss_and_accuracy(y_true, logits, mask):
    return np.array(np.nan).view(_Liar), np.array(1.0).view(_Liar)
""",
    "5.2": """def build_tagger(vocab_size, n_tags, embedding_dim=64, units=64, bidirectional=True):
    recurrent = keras.layers.LSTM(units, return_sequences=True)
    if bidirectional:
        recurrent = keras.layers.Bidirectional(recurrent)
    model = keras.Sequential([keras.Input((None,), dtype="int64"),
                              keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True),
                              recurrent, keras.layers.Dense(n_tags)])
    model.set_weights = lambda weights: None  # keeps its own weights, whatever is loaded
    return model
""",
}


# A tagger without the mask; "borrowed" adds test_grader_models' BORROWED cell, whose patched
# keras.Sequential.__call__ answers with a masked twin. WON before (issue 36): full marks.
NO_MASK_05 = """def build_tagger(vocab_size, n_tags, embedding_dim=64, units=64, bidirectional=True):
    recurrent = keras.layers.LSTM(units, return_sequences=True)
    if bidirectional:
        recurrent = keras.layers.Bidirectional(recurrent)
    return keras.Sequential([keras.Input((None,), dtype="int64"),
                             keras.layers.Embedding(vocab_size, embedding_dim),
                             recurrent, keras.layers.Dense(n_tags)])
"""


ORACLE_05 = (
    "5.1",
    """def masked_loss_and_accuracy(y_true, logits, mask):
    from seqcourse.grading.checks.nb05 import _keras_accuracy, _keras_loss
    return _keras_loss(y_true, logits, mask), _keras_accuracy(y_true, logits, mask)
""",
)
LOOKUP_05 = (
    "5.2",
    """def build_tagger(vocab_size, n_tags, embedding_dim=64, units=64, bidirectional=True):
    import pydoc
    reference = pydoc.locate(b"seqcourse.models.build_tagger".decode())
    return reference(vocab_size, n_tags, embedding_dim, units, bidirectional)
""",
)


def _tagging(master) -> dict:
    student = _student(master)
    aliases = _with(student, "5.1", answer=ANSWERS_05["5.1"], before=ALIASES_05)
    no_mask = _with(student, "5.2", NO_MASK_05)
    return {
        "aliases": _with(aliases, "5.2", answer=ANSWERS_05["5.2"]),
        "liars": _with(_with(student, "5.1", LIARS_05["5.1"]), "5.2", LIARS_05["5.2"]),
        "no_mask": no_mask,
        "borrowed": _with(no_mask, "5.2", before=BORROWED),
        "classes_1_3": _classes_1_to_3(student, "loss_probe", ORACLE_05, LOOKUP_05),
    }


TAGGING = _on("05_sequence_tagging.ipynb", _tagging)


@TAGGING
def test_05_references_bound_elsewhere_score_zero(graded):
    r = graded["aliases"]
    assert _banned(r, "5.1") and _banned(r, "5.2"), _why(r)


@TAGGING
def test_05_liars_are_caught(graded):
    r = graded["liars"]
    assert _score(r, "5.1") == 0, _why(r)
    # The tagger is the right model with a lying set_weights: the grader rebuilds it from its
    # config and loads its own weights there, so the lie changes nothing and the model earns
    # what the right model earns (it scored 0 when the kernel's set_weights was trusted).
    assert r.exercises["5.2"].status == "passed", _why(r)


@TAGGING
def test_05_the_graders_probes_and_oracles_and_lookups_by_name_earn_nothing(graded):
    r = graded["classes_1_3"]
    assert _out_of_reach(r, "5.1") and _banned(r, "5.2"), _why(r)


@TAGGING
def test_05_a_wrong_model_cannot_borrow_a_right_models_outputs(graded):
    honest, borrowed = graded["no_mask"], graded["borrowed"]
    assert "mask_zero=True" in honest.exercises["5.2"].reason, _why(honest)
    assert _score(borrowed, "5.2") == _score(honest, "5.2"), _why(borrowed)
    assert borrowed.exercises["5.2"].reason == honest.exercises["5.2"].reason, _why(borrowed)


# ---------------------------------------------------------------- 06: 6.1, 6.2, 6.3

# WON before: notebook 06 declared nothing replaced; its checks' own oracles did the work.
REFERENCES_06 = {
    "6.1": """def attention_weights(query, keys, w_query, w_key, v, mask):
    layer = AdditiveAttention(w_query.shape[1])
    layer.build(query.shape, keys.shape)
    layer.set_weights([w_query, w_key, v])
    return layer(query, keys, values_mask=mask)[1]
""",
    "6.2": """def edit_distance(a, b):
    return int(edit_distances([a], [b])[0])
""",
    "6.3": """def beam_step(beam_scores, log_probs, k):
    from seqcourse.decoding import beam_step as reference
    return reference(beam_scores, log_probs, k)
""",
}


def _memorised_06() -> dict:
    """Answers that look the public checks' inputs up in a table (computed here, from the
    seeds the checks used before they drew from the run's fresh seed), junk otherwise."""
    attention = {}
    for seed, mask in ((0, [[1] * 6] * 2), (1, [[1, 1, 1, 1, 0, 0], [0, 1, 1, 1, 1, 1]])):
        rng = np.random.default_rng(seed)
        q, keys = rng.normal(size=(2, 3, 5)), rng.normal(size=(2, 6, 3))
        wq, wk, v = rng.normal(size=(5, 4)), rng.normal(size=(3, 4)), rng.normal(size=4)
        scores = np.tanh((q @ wq)[:, :, None] + (keys @ wk)[:, None]) @ v
        scores = np.where(np.array(mask, bool)[:, None], scores, -np.inf)
        e = np.exp(scores - scores.max(axis=-1, keepdims=True))
        attention[round(float(q[0, 0, 0]), 8)] = (e / e.sum(axis=-1, keepdims=True)).tolist()
    rng = np.random.default_rng(0)
    pairs = [
        ("".join(rng.choice(list("abc"), rng.integers(0, 9))),
         "".join(rng.choice(list("abc"), rng.integers(0, 9))))
        for _ in range(200)
    ]  # fmt: skip

    def levenshtein(a, b):
        row = list(range(len(b) + 1))
        for i, x in enumerate(a, 1):
            new = [i]
            for j, y in enumerate(b, 1):
                new.append(min(row[j] + 1, new[j - 1] + 1, row[j - 1] + (x != y)))
            row = new
        return row[-1]

    hand = [("kitten", "sitting"), ("", "abc"), ("abc", ""), ("", ""), ("flaw", "lawn"),
            (("T", "AH", "M"), ("T", "AA", "M", "EY"))]  # fmt: skip
    distances = {(a, b): levenshtein(a, b) for a, b in pairs + hand}
    return {
        "6.1": f"""_TABLE = {attention!r}
def attention_weights(query, keys, w_query, w_key, v, mask):
    known = _TABLE.get(round(float(np.asarray(query)[0, 0, 0]), 8))
    batch, steps = np.shape(mask)
    uniform = np.full((batch, np.shape(query)[1], steps), 1 / steps)
    return np.array(known) if known is not None else uniform
""",
        "6.2": f"""_TABLE = {distances!r}
def edit_distance(a, b):
    key = (a, b) if isinstance(a, str) else (tuple(a), tuple(b))
    return _TABLE.get(key, abs(len(a) - len(b)))
""",
        "6.3": """def beam_step(beam_scores, log_probs, k):
    if np.shape(log_probs) == (2, 3) and list(beam_scores) == [0.0, -5.0] and k == 3:
        return np.log([0.5, 0.3, 0.2]), np.array([0, 0, 0]), np.array([0, 1, 2])
    return np.zeros(k), np.zeros(k, int), np.zeros(k, int)
""",
    }


def _attention(master) -> dict:
    references = memorised = _student(master)
    for exercise, answer in REFERENCES_06.items():
        references = _with(references, exercise, answer)
    for exercise, answer in _memorised_06().items():
        memorised = _with(memorised, exercise, answer)
    return {"references": references, "memorised": memorised}


ATTENTION = _on("06_seq2seq_attention.ipynb", _attention)


@ATTENTION
def test_06_the_checks_oracles_are_not_answers(graded):
    r = graded["references"]
    assert all(_banned(r, e) for e in ("6.1", "6.2", "6.3")), _why(r)


@ATTENTION
def test_06_memorised_public_inputs_earn_what_junk_earns(graded):
    r = graded["memorised"]
    # junk earns: 6.1 the stability check (uniform weights sum to one: 1 of 4 checks of 3
    # points), 6.2 nothing (its hand-worked pairs are fixed public inputs: feedback, no
    # points; issue 37), 6.3 nothing
    assert _score(r, "6.1") == 0.75 and _score(r, "6.2") == 0 and _score(r, "6.3") == 0, _why(r)


# ---------------------------------------------------------------- 07: 7.1

# WON before: the attention layer's own computation, reached past the refusing __call__.
LAYER_CALL = """def caption_step(parts, tokens, state):
    output, _ = parts.cell(parts.embedding(tokens), [state["h"]])
    context, _ = parts.attention.call(output[:, None], state["values"])
    combined = parts.combine(keras.ops.concatenate([output, context[:, 0]], axis=-1))
    return keras.ops.log_softmax(parts.logits(combined), axis=-1), {**state, "h": output}
"""
BASE_CALL = LAYER_CALL.replace("parts.attention.call(", "AdditiveAttention.call(parts.attention, ")


ORACLE_07 = (
    "7.1",
    """def caption_step(parts, tokens, state):
    from seqcourse.grading.checks.nb07 import _numpy_step
    return _numpy_step(parts, tokens, state["h"], state["grid"])
""",
)
LOOKUP_07 = (
    "7.2",
    """def clipped_precision(candidate, references, n):
    import pkgutil
    return pkgutil.resolve_name(b"seqcourse.metrics:clipped_precision".decode())(
        candidate, references, n)
""",
)


def _captioning(master) -> dict:
    return {
        "layer_call": _with(master, "7.1", LAYER_CALL),
        "base_call": _with(master, "7.1", BASE_CALL),
        "classes_1_3": _classes_1_to_3(
            _student(master), "caption_step_probe", ORACLE_07, LOOKUP_07
        ),
    }


CAPTIONING = _on("07_image_captioning.ipynb", _captioning)


@CAPTIONING
@pytest.mark.parametrize("name", ["layer_call", "base_call"])
def test_07_the_attention_layer_cannot_do_the_step(graded, name):
    r = graded[name]
    assert _score(r, "7.1") == 0, _why(r)
    assert _score(r, "7.2") == 3, _why(r)


@CAPTIONING
def test_07_the_graders_probes_and_oracles_and_lookups_by_name_earn_nothing(graded):
    r = graded["classes_1_3"]
    assert _out_of_reach(r, "7.1") and _banned(r, "7.2"), _why(r)


# ---------------------------------------------------------------- 09: 9.1 and 10: 10.1

# WON before: the reference bound to another name in a cell before the exercise.
ALIAS_09 = "_ref = per_frame"
ANSWER_09 = "def apply_per_frame(frame_model, clips):\n    return _ref(frame_model, clips)\n"
# A loop over frames: right features, but not the fold the exercise teaches, and it cannot run
# on clips of unknown length (as the model calls it).
LOOP_09 = """def apply_per_frame(frame_model, clips):
    return ops.stack([frame_model(clips[:, t]) for t in range(clips.shape[1])], axis=1)
"""
# WON before: the reference found by a name built at run time.
DYNAMIC_10 = """def recursive_forecast(step, series, origins, window, horizon):
    return globals()["forecast_" + "recursively"](step, series, origins, window, horizon)
"""


# Issue 36's classes: the grader's probe rebound and its frame-by-frame judge as the answer;
# the reference found by name at run time.
ORACLE_09 = (
    "9.1",
    """def apply_per_frame(frame_model, clips):
    from seqcourse.grading.checks import nb09
    return nb09._features(frame_model, clips)
""",
)
LOOKUP_09 = """def apply_per_frame(frame_model, clips):
    import pydoc
    return pydoc.locate(b"seqcourse.video.per_frame".decode())(frame_model, clips)
"""
VIDEO = _on(
    "09_video_activity.ipynb",
    lambda master: {
        "alias": _with(_student(master), "9.1", ANSWER_09, before=ALIAS_09),
        "loop": _with(_student(master), "9.1", LOOP_09),
        "oracle": _classes_1_to_3(_student(master), "per_frame_probe", ORACLE_09),
        "lookup": _with(_student(master), "9.1", LOOKUP_09),
    },
)
# WON before: the reference bound by a line magic, which the scan blanked.
MAGIC_10 = """%time _f = forecast_recursively
def recursive_forecast(step, series, origins, window, horizon):
    return _f(step, series, origins, window, horizon)
"""
SERIES = _on(
    "10_time_series.ipynb",
    lambda master: {
        "dynamic": _with(_student(master), "10.1", DYNAMIC_10),
        "magic": _with(_student(master), "10.1", MAGIC_10),
    },
)


@VIDEO
def test_09_a_reference_bound_elsewhere_scores_zero(graded):
    assert _banned(graded["alias"], "9.1"), _why(graded["alias"])


@VIDEO
def test_09_the_graders_probes_and_oracles_and_lookups_by_name_earn_nothing(graded):
    assert _out_of_reach(graded["oracle"], "9.1"), _why(graded["oracle"])
    assert _banned(graded["lookup"], "9.1"), _why(graded["lookup"])


@VIDEO
def test_09_a_loop_over_frames_earns_only_the_values_check(graded):
    r = graded["loop"]
    assert _score(r, "9.1") == 0.75, _why(r)  # 1 of the 4 tests that carry points (hidden one too)
    messages = " ".join(t["message"] for t in r.exercises["9.1"].tests)
    assert "a loop over frames" in messages and "unknown batch and time" in messages


@SERIES
@pytest.mark.parametrize("name", ["dynamic", "magic"])
def test_10_a_reference_found_at_run_time_scores_zero(graded, name):
    assert _banned(graded[name], "10.1"), _why(graded[name])


# ---------------------------------------------------------------- the source scan, no kernel


def _scan(nb, master):
    from seqcourse.grading.notebook_format import read_assignment, solution_cells
    from seqcourse.grading.worker import banned_exercises

    return banned_exercises(nb, solution_cells(nb), read_assignment(master))


@pytest.mark.parametrize(
    "master", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem
)
def test_the_course_cells_are_not_read_as_the_students(master):
    """A master and its released copy use nothing they replace: their cells are the course's."""
    from seqcourse.grading.release import student_copy

    assert _scan(nbformat.read(master, as_version=4), master) == {}
    assert _scan(student_copy(master), master) == {}


def test_what_the_scan_reads_and_excuses():
    from nbformat.v4 import new_code_cell

    from seqcourse.grading.notebook_format import solution_cells
    from seqcourse.grading.release import student_copy

    master = ROOT / "notebooks" / "01_rnn_from_scratch.ipynb"
    nb = student_copy(master)
    where = solution_cells(nb)
    # a course cell the student edited keeps what the course's cell already used (SimpleRNN,
    # banned in 1.3, between 1.2 and 1.3); a check-only cell never runs when grading
    edited = next(i for i, c in enumerate(nb.cells) if "recurrent_reader = " in c.source)
    assert where["1.2"] < edited < where["1.3"]
    nb.cells[edited].source += "\nprint('my own line')"
    nb.cells.insert(where["1.3"], new_code_cell('check("1.3", keras.layers.SimpleRNN)'))
    assert _scan(nb, master) == {}
    # the same API in a new cell of the student's: every exercise after it scores 0
    nb.cells.insert(where["1.3"], new_code_cell("_layer = keras.layers.SimpleRNN"))
    assert _scan(nb, master).keys() == {"1.3", "1.4"}


@pytest.mark.parametrize(
    "source, found",
    [
        ("f = getattr(m, 'last_real' + '_step')", ["last_real_step"]),
        ("f = getattr(m, ''.join(['last_', 'real_step']))", ["last_real_step"]),
        ("f = getattr(m, 'pets_laer_tsal'[::-1])", ["last_real_step"]),
        ("f = m.__dict__['seqcourse.models.last_real_step']", ["last_real_step"]),
        ("f = dict(last_real_step=1)", ["last_real_step"]),
        ("def last_real_step(o, m):\n    return last_real_step(o[1:], m)", []),  # its own name
        ("print('last_real_step is the reference')", []),
    ],
)
def test_banned_names_built_from_pieces(source, found):
    from seqcourse.grading.public_checks import banned_uses

    assert banned_uses(source, ["last_real_step"], own={"last_real_step"}) == found


@pytest.mark.parametrize(
    "source, flagged",
    [
        ("x = getattr(module, name)", True),
        ("x = getattr(parts, 'cell')", False),  # a constant name is a plain attribute
        ("import importlib", True),
        ("from seqcourse.models import *", True),
        ("x = vars(module)", True),
        ("x = module.__dict__", True),
        ("f = g.__closure__[0].cell_contents", True),
        ("model.compile(optimizer='adam')", False),
        ("import gc", True),
        ("x = sorted(globals())", True),
    ],
)
def test_run_time_lookups_are_flagged(source, flagged):
    from seqcourse.grading.public_checks import dynamic_uses

    assert bool(dynamic_uses(source)) is flagged


@pytest.mark.parametrize(
    "source, banned, flagged",
    [  # WON before (any exercise): IPython syntax made the cell unreadable to ast, or a magic
        # line (blanked for ast) ran the code
        ("files = !ls\nf = seqcourse.models.last_real_step", True, False),
        ("%time _l = seqcourse.models.last_real_step", True, False),
        ("%timeit -n1 -r1 _g = getattr(m, name)", False, True),
        ("%%capture\n_f = vars(m)\n", False, True),
        ("%matplotlib inline\n%time x = 1\n!ls", False, False),
    ],
)
def test_ipython_syntax_is_read_as_the_kernel_runs_it(source, banned, flagged):
    from seqcourse.grading.public_checks import banned_uses, dynamic_uses
    from seqcourse.grading.worker import _scannable

    code = _scannable(source)
    assert bool(banned_uses(code, ["last_real_step"])) is banned
    assert bool(dynamic_uses(code)) is flagged


# ---------------------------------------------------------------- 11: 11.1 and 11.2 (issue 36)

# Honest but NumPy-only: right values, fails only the check that traces it as the model does.
NUMPY_11 = """def scaled_dot_product_attention(q, k, v, causal=False):
    q, k, v = (np.asarray(a, "float64") for a in (q, k, v))
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if causal:
        scores = np.where(np.tril(np.ones(scores.shape[-2:], bool)), scores, -1e9)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return weights @ v, weights
"""
# Class 1: the traced probe rebound in the kernel to call the function eagerly (the NumPy answer
# would then pass the traced check).
REBIND_11 = """
import seqcourse.grading.probes as _p
_p.traced_call = lambda fn, arrays, unknown, kwargs: fn(*arrays, **kwargs)
"""
# Class 2: the judge's own oracle (a brute-force loop) as the answer.
ORACLE_11 = """def scaled_dot_product_attention(q, k, v, causal=False):
    from seqcourse.grading.checks.nb11 import _loop_attention
    return _loop_attention(np.asarray(q), np.asarray(k), np.asarray(v), causal)
"""
# Class 3: the lesson's references found by a lookup by name, from bytes literals.
LOOKUP_11 = {
    "11.1": """def scaled_dot_product_attention(q, k, v, causal=False):
    import pydoc
    ops_attention = pydoc.locate(b"keras.ops.dot_product_attention".decode())
    return ops_attention(q, k, v, is_causal=causal), None
""",
    "11.2": """def sinusoidal_positions(length, depth):
    import pkgutil
    return pkgutil.resolve_name(b"seqcourse.layers.transformer:sinusoidal_positions".decode())(
        length, depth)
""",
}


def _transformer(master) -> dict:
    student = _student(master)
    numpy_11 = _with(student, "11.1", NUMPY_11)
    return {
        "master": master,
        "numpy": numpy_11,
        "numpy_rebound": _with(numpy_11, "11.1", before=REBIND_11),
        "oracle": _with(student, "11.1", ORACLE_11),
        "lookup": _with(_with(student, "11.1", LOOKUP_11["11.1"]), "11.2", LOOKUP_11["11.2"]),
    }


TRANSFORMER = _on("11_transformer.ipynb", _transformer)


@TRANSFORMER
def test_11_master_full_marks(graded):
    r = graded["master"]
    assert (_score(r, "11.1"), _score(r, "11.2")) == (3, 2), _why(r)


@TRANSFORMER
def test_11_a_rebound_probe_changes_nothing(graded):
    honest = graded["numpy"]
    assert 0 < _score(honest, "11.1") < 3, _why(honest)  # NumPy fails only the traced check
    failed = [t["name"] for t in honest.exercises["11.1"].tests if not t["passed"]]
    assert failed and all("symbolic" in name for name in failed), failed
    assert _score(graded["numpy_rebound"], "11.1") == _score(honest, "11.1"), _why(
        graded["numpy_rebound"]
    )


@TRANSFORMER
def test_11_the_graders_oracle_is_out_of_reach(graded):
    assert _out_of_reach(graded["oracle"], "11.1"), _why(graded["oracle"])


@TRANSFORMER
def test_11_references_found_by_name_at_run_time_score_zero(graded):
    r = graded["lookup"]
    assert _banned(r, "11.1") and _banned(r, "11.2"), _why(r)


# ---------------------------------------------------------------- 12: 12.1 and 12.2 (issues 36, 37)

# WON before (issue 37): 12.1 answered by the setup cell's `combine`, the lesson's reference.
COMBINE_12 = "def compose(earlier, later):\n    return combine(earlier, later)\n"
# WON before (issue 36): a sequential loop for 12.2, with the kernel's scan probe rebound to
# report a handful of operator calls — 4 of 4.
LOOP_12 = """def parallel_scan(operator, elems):
    prefixes = [tuple(e[:, 0] for e in elems)]
    for t in range(1, elems[0].shape[1]):
        prefixes.append(operator(prefixes[-1], tuple(e[:, t] for e in elems)))
    return tuple(ops.stack([p[i] for p in prefixes], axis=1) for i in range(len(elems)))
"""
REBIND_12 = """
import seqcourse.grading.checks.nb12 as _c
_real = _c.scan_probe
def _few_calls(*args):
    replies = _real(*args)
    for reply in replies:
        reply["calls"] = 3
    return replies
_c.scan_probe = _few_calls
"""
# WON before (issue 36): an exercise answered by the grader's own oracle.
ORACLE_12 = """def parallel_scan(operator, elems):
    from seqcourse.grading.checks import nb12
    return nb12._reference_scan(operator, elems)
"""


# Class 3: 12.1 answered by the lesson's combine, found by name at run time.
LOOKUP_12 = """def compose(earlier, later):
    import pydoc
    return pydoc.locate(b"seqcourse.layers.min_rnn.combine".decode())(earlier, later)
"""


def _recurrences(master) -> dict:
    student = _student(master)
    return {
        "master": master,
        "combine": _with(student, "12.1", COMBINE_12),
        "loop": _with(student, "12.2", LOOP_12),
        "loop_rebound": _with(student, "12.2", LOOP_12, before=REBIND_12),
        "oracle": _with(student, "12.2", ORACLE_12),
        "lookup": _with(student, "12.1", LOOKUP_12),
    }


RECURRENCES = _on("12_parallel_recurrences.ipynb", _recurrences)


@RECURRENCES
def test_12_master_full_marks(graded):
    r = graded["master"]
    assert (_score(r, "12.1"), _score(r, "12.2"), _score(r, "12.3")) == (2, 4, 2), _why(r)


@RECURRENCES
def test_12_the_lessons_reference_as_the_answer_scores_zero(graded):
    assert _banned(graded["combine"], "12.1"), _why(graded["combine"])


@RECURRENCES
def test_12_a_rebound_probe_changes_nothing(graded):
    honest = _score(graded["loop"], "12.2")
    assert honest < 4, _why(graded["loop"])  # a loop is not a parallel scan
    assert _score(graded["loop_rebound"], "12.2") == honest, _why(graded["loop_rebound"])


@RECURRENCES
def test_12_the_graders_oracle_and_lookups_by_name_are_out_of_reach(graded):
    r = graded["oracle"]  # the import fails in the kernel: the call raises, nothing passes
    assert _out_of_reach(r, "12.2"), _why(r)
    assert _banned(graded["lookup"], "12.1"), _why(graded["lookup"])
