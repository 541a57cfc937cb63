"""Test-suite set-up shared by the unit tests and the notebook runs (nbval).

Environment variables set here are inherited by every notebook kernel nbval starts: fast
mode, quiet TensorFlow logs, a headless matplotlib and GPU memory growth so that parallel
kernels can share one GPU.
"""

import os

os.environ["SEQCOURSE_FAST"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
