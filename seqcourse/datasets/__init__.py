"""Course datasets, one module each; every loader is offline and deterministic by seed."""

from seqcourse.datasets.adding import load_adding_problem

__all__ = ["load_adding_problem"]
