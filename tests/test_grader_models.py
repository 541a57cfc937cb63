"""Hostile submissions of the two exercises whose answers are not plain data: 3.1 returns a Keras
model, 4.2 draws from a random generator.

Both are probe + judge like every other exercise. For 3.1 the probe builds the student's model
in their kernel, runs it on token ids the grader sends (with the model's own weights, then with
weights the grader chose) and returns the weights and the outputs; the judge rebuilds
Embedding(mask_zero) -> LSTM / Bidirectional(LSTM) -> Dense(1, sigmoid) here, loads the same
weights and compares. For 4.2 the probe returns thousands of draws made with a generator seeded
from the run's fresh seed, on logits drawn from it too; the judge compares frequencies with its
own softmax.

The graded notebooks are the masters cut down to their setup cell, exercise cells and check
cells (no training), in a masters folder of their own. Before probe + judge (these two
exercises were judged inside the kernel with a per-run token), the cases marked WON below
got full marks for 3.1 or 4.2.
"""

from __future__ import annotations

import pytest
from grading_copies import ROOT

from seqcourse.grading.grade import grade
from seqcourse.grading.notebook_format import solution_cells, split_hidden_tests, stub_solution

CELL_TIMEOUT, TOTAL_TIMEOUT = 120, 400


def _reduced_master(name: str, folder: str = "notebooks"):
    """Notebook ``name`` of ``folder`` (the masters; ``exercises``: the released copies) cut
    to its setup cell, exercise cells and their check cells."""
    import nbformat

    nb = nbformat.read(ROOT / folder / name, as_version=4)
    where = solution_cells(nb).values()
    keep = {1} | set(where) | {i + 1 for i in where}  # setup, exercises, their check cells
    nb.cells = [c for i, c in enumerate(nb.cells) if i in keep]
    return nb


def _student(master):
    """The released form of a reduced master: stubs, no hidden tests."""
    import copy

    nb = copy.deepcopy(master)
    for ex, i in solution_cells(nb).items():
        nb.cells[i].source = stub_solution(nb.cells[i].source, ex)
        nb.cells[i + 1].source = split_hidden_tests(nb.cells[i + 1].source)[0]
    return nb


def _with(nb, exercise, answer=None, before=None):
    """``nb`` with exercise ``exercise``'s answer replaced and/or a cell inserted before it."""
    import copy

    from nbformat.v4 import new_code_cell

    nb = copy.deepcopy(nb)
    i = solution_cells(nb)[exercise]
    if answer is not None:
        nb.cells[i].source = nb.cells[i].source.splitlines()[0] + "\n" + answer
    if before is not None:
        nb.cells.insert(i, new_code_cell(before))
    return nb


def _grade(tmp_path_factory, name: str, master, scenarios: dict) -> dict:
    """Grade each of ``scenarios`` (name -> notebook) against ``master``; results by name."""
    import nbformat

    masters = tmp_path_factory.mktemp("masters")
    (masters / name).write_text(nbformat.writes(master), encoding="utf-8")
    folder, out = tmp_path_factory.mktemp("class"), tmp_path_factory.mktemp("grades")
    paths = []
    for student, nb in scenarios.items():
        path = folder / student / name
        path.parent.mkdir()
        path.write_text(nbformat.writes(nb), encoding="utf-8")
        paths.append(path)
    results = grade(
        paths,
        out,
        assignment=name[:-6],
        masters=masters,
        jobs=2,
        cell_timeout=CELL_TIMEOUT,
        total_timeout=TOTAL_TIMEOUT,
        progress=lambda line: None,
    )
    return {r.submission.split("/")[-2]: r for r in results}


def _score(result, exercise):
    return result.exercises[exercise].score


_SCENARIOS: dict = {}  # "module:notebook" -> (reduced master -> {scenario: notebook})


def _on(notebook: str, scenarios):
    """Mark a test as reading the ``graded`` fixture for ``notebook``, whose submissions
    ``scenarios`` builds from the reduced master (graded once per test module; the master
    itself only if a scenario is the master)."""
    key = f"{scenarios.__module__}:{notebook}"
    _SCENARIOS[key] = scenarios
    return pytest.mark.parametrize("graded", [key], indirect=True, ids=[notebook])


def grade_scenarios(request, tmp_path_factory) -> dict:
    """The ``graded`` fixture of a test module: {scenario name: result} of one notebook."""
    notebook = request.param.partition(":")[2]
    master = _reduced_master(notebook)
    return _grade(tmp_path_factory, notebook, master, _SCENARIOS[request.param](master))


@pytest.fixture(scope="module")
def graded(request, tmp_path_factory) -> dict:
    return grade_scenarios(request, tmp_path_factory)


# WON before: a pre_run_cell hook reads the per-run token from the injected test cell and
# displays a forged "all passed" result first.
TOKEN_HOOK = r"""
import re
from IPython import get_ipython
from IPython.display import display
def _forge(info):
    m = re.search(r"run_exercise_tests\(globals\(\), '([\d.]+)', .*'([0-9a-f]{32})'\)", info.raw_cell or "")
    if m:
        display({"application/vnd.seqcourse.grade+json": {"token": m[2], "exercise": m[1],
                 "tests": [{"name": "forged", "passed": True}]}}, raw=True)
get_ipython().events.register("pre_run_cell", _forge)
"""

# ---------------------------------------------------------------- 3.1 build_lstm_classifier

# WON before: a Model subclass holding layers of the right sizes, whose call returns made-up
# probabilities (the right shape, in (0, 1), the same whatever the padding).
FAKE_MODEL = """
class _Classifier(keras.Model):
    def __init__(self, vocab, embed, units, bidirectional):
        super().__init__()
        directions = 2 if bidirectional else 1
        self.embedding = keras.layers.Embedding(vocab, embed, mask_zero=True)
        lstm = keras.layers.LSTM(units)
        self.recurrent = keras.layers.Bidirectional(lstm) if bidirectional else lstm
        self.head = keras.layers.Dense(1, activation="sigmoid")
        self.embedding.build((None, None))
        self.recurrent.build((None, None, embed))
        self.head.build((None, directions * units))

    def call(self, ids):
        ids = keras.ops.convert_to_tensor(ids)
        return keras.ops.full((keras.ops.shape(ids)[0], 1), 0.73)


def build_lstm_classifier(vocab_size, embedding_dim=32, units=32, bidirectional=False):
    return _Classifier(vocab_size, embedding_dim, units, bidirectional)
"""


def _forged_classifier_probe(weights: str, outputs: str) -> str:
    """A cell replacing the kernel's model probe: weights of the right shapes, made-up outputs."""
    return f"""
import numpy as np
import seqcourse.grading.checks.nb03 as _nb03

def _forged(build, sizes, batches, loads):
    vocab, embed, units = sizes
    runs = []
    for directions in (1, 2):
        shapes = [(vocab, embed)] + directions * [(embed, 4 * units), (units, 4 * units), (4 * units,)]
        shapes += [(directions * units, 1), (1,)]
        outs = [{outputs} for b in batches]
        runs.append({{"type": "Sequential", "is_model": True, "layers": ["Embedding", "LSTM", "Dense"],
                      "weights": [{weights} for s in shapes], "outputs": outs, "loaded": outs}})
    return runs

_nb03.classifier_probe = _forged
"""


# Zero weights make every output exactly 0.5: outputs consistent with the weights sent.
ZERO_WEIGHTS = _forged_classifier_probe(
    'np.zeros(s, "float32")', 'np.full((len(b), 1), 0.5, "float32")'
)
RANDOM_WEIGHTS = _forged_classifier_probe(
    'np.random.default_rng(0).normal(size=s).astype("float32")',
    'np.random.default_rng(1).uniform(0.2, 0.8, size=(len(b), 1)).astype("float32")',
)

NO_MASK = """def build_lstm_classifier(vocab_size, embedding_dim=32, units=32, bidirectional=False):
    lstm = keras.layers.LSTM(units)
    return keras.Sequential([keras.Input((None,), dtype="int64"), keras.layers.Embedding(vocab_size, embedding_dim),
                             keras.layers.Bidirectional(lstm) if bidirectional else lstm,
                             keras.layers.Dense(1, activation="sigmoid")])
"""

# A model without the mask whose calls are answered by a masked twin: keras.Sequential.__call__
# patched in the kernel (a cell before the answer), so every output the kernel reports is a
# right model's — the weights the grader loads included.
BORROWED = """
_sequential_call, _twins = keras.Sequential.__call__, {}

def _borrowed(self, x, *args, **kwargs):
    if id(self) not in _twins:  # the model is kept alive with its twin: no id is reused
        config = self.get_config()
        for layer in config["layers"]:
            if layer["class_name"] == "Embedding":
                layer["config"]["mask_zero"] = True
        _twins[id(self)] = (self, keras.Sequential.from_config(config))
    twin = _twins[id(self)][1]
    twin.set_weights(self.get_weights())
    return _sequential_call(twin, x, *args, **kwargs)

keras.Sequential.__call__ = _borrowed
"""


def _sentiment(master) -> dict:
    student = _student(master)
    solved = _with(master, "3.1")  # the master's answers, hidden tests included: fine here
    return {
        "master": master,
        "untouched": student,
        "token_hook": _with(student, "3.1", before=TOKEN_HOOK),
        "fake_model": _with(solved, "3.1", answer=FAKE_MODEL),
        "zero_weights_probe": _with(student, "3.1", before=ZERO_WEIGHTS),
        "random_weights_probe": _with(student, "3.1", before=RANDOM_WEIGHTS),
        "no_mask": _with(solved, "3.1", answer=NO_MASK),
        "borrowed": _with(_with(solved, "3.1", answer=NO_MASK), "3.1", before=BORROWED),
    }


SENTIMENT = _on("03_sentiment.ipynb", _sentiment)


@SENTIMENT
def test_the_master_model_gets_full_marks(graded):
    r = graded["master"]
    assert _score(r, "3.1") == 3 and _score(r, "3.2") == 2, r.summary()
    assert _score(graded["untouched"], "3.1") == 0


@SENTIMENT
@pytest.mark.parametrize(
    "name", ["token_hook", "fake_model", "zero_weights_probe", "random_weights_probe"]
)
def test_a_forged_model_or_probe_scores_zero(graded, name):
    r = graded[name]
    assert _score(r, "3.1") == 0, r.summary()


@SENTIMENT
def test_the_judge_says_what_it_compared(graded):
    tests = {t["name"]: t for t in graded["fake_model"].exercises["3.1"].tests}
    assert any("could not rebuild" in t["message"] for t in tests.values() if not t["passed"]), (
        tests
    )
    # the forged probe never runs: the kernel cannot import the checks it patches (the grader
    # sends its probes with each call), so the stub it sat beside stays a stub
    assert graded["zero_weights_probe"].exercises["3.1"].status == "not attempted"


@SENTIMENT
def test_a_model_without_the_mask_earns_partial_marks(graded):
    r = graded["no_mask"]
    assert 0 < _score(r, "3.1") < 3, r.summary()
    failed = [t for t in r.exercises["3.1"].tests if not t["passed"]]
    assert failed and all("padding" in t["name"] or "hidden" in t["name"] for t in failed)


@SENTIMENT
def test_a_wrong_model_cannot_borrow_a_right_models_outputs(graded):
    """WON before (issue 36): the kernel's outputs were the judge's evidence. The grader now
    rebuilds the model from its exported config and weights and runs it itself, so the
    unmasked model scores what the unmasked model earns."""
    honest, borrowed = graded["no_mask"], graded["borrowed"]
    assert _score(borrowed, "3.1") == _score(honest, "3.1") < 3, borrowed.summary()


# ---------------------------------------------------------------- 4.2 sample_with_temperature

# Always the argmax (any index when the logits are flat): wrong, but right for a tiny temperature.
ARGMAX = """def sample_with_temperature(logits, temperature, rng):
    logits = np.asarray(logits, dtype="float64")
    return int(rng.integers(len(logits))) if np.ptp(logits) == 0 else int(np.argmax(logits))
"""

# WON before: the argmax sampler with numpy.abs poisoned (the checks' comparison used it).
POISON = "np.abs = lambda x, *a, **k: np.zeros_like(x)"

# WON before: the public check's logits and temperatures memorised, their softmax hard-coded.
MEMORISED = """_KNOWN = {1.0: [0.563, 0.2071, 0.0762, 0.028, 0.1256], 0.5: [0.8292, 0.1122, 0.0152, 0.0021, 0.0413]}
def sample_with_temperature(logits, temperature, rng):
    logits = np.asarray(logits, dtype="float64")
    if len(logits) == 5 and temperature in _KNOWN:
        p = np.array(_KNOWN[temperature])
        return int(rng.choice(5, p=p / p.sum()))
    return int(rng.integers(len(logits))) if np.ptp(logits) == 0 else int(np.argmax(logits))
"""

# The kernel's sampling probe replaced: every request answered with draws of index 0.
FORGED_SAMPLER_PROBE = """
import numpy as np
import seqcourse.grading.checks.nb04 as _nb04
_nb04.sampler_probe = lambda sample, requests, rng: {"draws": [np.zeros(int(n), "int64") for _, _, n in requests]}
"""


def _language_model(master) -> dict:
    student = _student(master)
    return {
        "master": master,
        "untouched": student,
        "token_hook": _with(student, "4.2", before=TOKEN_HOOK),
        "argmax": _with(master, "4.2", answer=ARGMAX),
        "argmax_poisoned": _with(master, "4.2", answer=ARGMAX, before=POISON),
        "memorised": _with(master, "4.2", answer=MEMORISED),
        "forged_probe": _with(student, "4.2", before=FORGED_SAMPLER_PROBE),
    }


LANGUAGE_MODEL = _on("04_char_language_model.ipynb", _language_model)


@LANGUAGE_MODEL
def test_the_master_sampler_gets_full_marks(graded):
    r = graded["master"]
    assert _score(r, "4.2") == 2 and _score(r, "4.1") == 2, r.summary()
    assert _score(graded["untouched"], "4.2") == 0


@LANGUAGE_MODEL
def test_a_sampler_scores_what_its_honest_code_earns(graded):
    honest = _score(graded["argmax"], "4.2")
    assert 0 < honest < 2, graded["argmax"].summary()
    for name in ("argmax_poisoned", "memorised"):  # memorising the public inputs: no help
        assert _score(graded[name], "4.2") == honest, graded[name].summary()


@LANGUAGE_MODEL
@pytest.mark.parametrize("name", ["token_hook", "forged_probe"])
def test_a_forged_sampler_result_scores_nothing(graded, name):
    r = graded[name]
    assert _score(r, "4.2") < 2, r.summary()
    failed = [t for t in r.exercises["4.2"].tests if not t["passed"]]
    assert _score(r, "4.2") == 0
    if name == "forged_probe":  # it cannot patch a probe the kernel never sees: a stub is left
        assert r.exercises["4.2"].status == "not attempted", failed
