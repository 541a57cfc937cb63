"""Course datasets, one module each. Embedded loaders are offline and deterministic by seed;
full-data loaders (TFDS) download on first use."""

from seqcourse.datasets.adding import load_adding_problem
from seqcourse.datasets.conll import load_conll2003
from seqcourse.datasets.imdb import load_imdb_reviews
from seqcourse.datasets.punctuation import load_punctuation_data
from seqcourse.datasets.pydoc_text import clean_pydoc_text, load_pydoc_corpus, load_pydoc_text
from seqcourse.datasets.reviews import load_probe_pairs, load_reviews
from seqcourse.datasets.shakespeare import load_tiny_shakespeare
from seqcourse.datasets.text_csv import load_csv_reviews

__all__ = [
    "clean_pydoc_text",
    "load_adding_problem",
    "load_conll2003",
    "load_csv_reviews",
    "load_imdb_reviews",
    "load_probe_pairs",
    "load_punctuation_data",
    "load_pydoc_corpus",
    "load_pydoc_text",
    "load_reviews",
    "load_tiny_shakespeare",
]
