"""Course datasets, one module each. Embedded loaders are offline and deterministic by seed;
full-data loaders (TFDS) download on first use."""

from seqcourse.datasets.adding import load_adding_problem
from seqcourse.datasets.imdb import load_imdb_reviews
from seqcourse.datasets.reviews import load_probe_pairs, load_reviews
from seqcourse.datasets.text_csv import load_csv_reviews

__all__ = [
    "load_adding_problem",
    "load_csv_reviews",
    "load_imdb_reviews",
    "load_probe_pairs",
    "load_reviews",
]
