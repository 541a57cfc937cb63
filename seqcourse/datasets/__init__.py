"""Course datasets, one module each. Embedded loaders are offline and deterministic by seed;
full-data loaders (TFDS, downloads) fetch on first use. Bad files raise ``DataError``."""

from seqcourse.datasets.activity_clips import load_activity_clips
from seqcourse.datasets.adding import load_adding_problem
from seqcourse.datasets.cmudict_g2p import load_g2p
from seqcourse.datasets.conll import load_conll2003
from seqcourse.datasets.errors import DataError
from seqcourse.datasets.imdb import load_imdb_reviews
from seqcourse.datasets.punctuation import load_punctuation_data
from seqcourse.datasets.pydoc_text import clean_pydoc_text, load_pydoc_corpus, load_pydoc_text
from seqcourse.datasets.review_sentences import load_review_sentences, source_splits
from seqcourse.datasets.reviews import load_probe_pairs, load_reviews
from seqcourse.datasets.series import load_co2, load_jena_climate, load_sunspots
from seqcourse.datasets.shakespeare import load_tiny_shakespeare
from seqcourse.datasets.shape_scenes import load_shape_scenes
from seqcourse.datasets.spoken_digits import (
    load_digit_bank,
    load_real_digits,
    load_tfds_spoken_digit,
    load_tts_bank,
    load_wav_folder,
)
from seqcourse.datasets.text_csv import load_csv_reviews
from seqcourse.datasets.video_folder import load_ucf101, load_video_folder

__all__ = [
    "DataError",
    "clean_pydoc_text",
    "load_activity_clips",
    "load_adding_problem",
    "load_co2",
    "load_conll2003",
    "load_csv_reviews",
    "load_digit_bank",
    "load_g2p",
    "load_imdb_reviews",
    "load_jena_climate",
    "load_probe_pairs",
    "load_punctuation_data",
    "load_pydoc_corpus",
    "load_pydoc_text",
    "load_real_digits",
    "load_review_sentences",
    "load_reviews",
    "load_shape_scenes",
    "load_sunspots",
    "load_tfds_spoken_digit",
    "load_tiny_shakespeare",
    "load_tts_bank",
    "load_ucf101",
    "load_video_folder",
    "load_wav_folder",
    "source_splits",
]
