"""Exercise checks (public), student-copy release and the autograder.

Students only need :func:`check`; instructors use ``seqcourse release`` and ``seqcourse grade``.
"""

from seqcourse.grading.public_checks import CheckFailed, check, public_check, run_public_checks

__all__ = ["CheckFailed", "check", "public_check", "run_public_checks"]
