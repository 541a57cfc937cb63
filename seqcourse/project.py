"""Where the course lives: the one repository URL every badge and install line is built from."""

REPO_URL = "https://github.com/seqcourse/seqcourse"
"""The public repository of the course. Colab badges and the Colab install line derive from it."""

BRANCH = "main"


def colab_url(path: str) -> str:
    """Return the "Open in Colab" URL of a notebook given its path inside the repository.

    >>> colab_url("notebooks/01_rnn_from_scratch.ipynb")
    'https://colab.research.google.com/github/seqcourse/seqcourse/blob/main/notebooks/01_rnn_from_scratch.ipynb'
    """
    owner_repo = REPO_URL.removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{owner_repo}/blob/{BRANCH}/{path}"


def colab_badge(path: str) -> str:
    """Return the Markdown of an "Open in Colab" badge for the notebook at ``path``."""
    badge = "https://colab.research.google.com/assets/colab-badge.svg"
    return f"[![Open In Colab]({badge})]({colab_url(path)})"


def pip_install_spec() -> str:
    """Return the pip requirement that installs this package from its repository (used on Colab)."""
    return f"seqcourse @ git+{REPO_URL}@{BRANCH}"
