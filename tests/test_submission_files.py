"""Submission files: only regular files are read, and any name can be written to outputs."""

import os
import threading

import pytest

from seqcourse.grading.submission_files import (
    NotARegularFile,
    display_name,
    is_regular,
    name_bytes,
    read_regular,
)


def test_a_regular_file_is_read(tmp_path):
    path = tmp_path / "a.ipynb"
    path.write_bytes(b"{}")
    assert read_regular(path) == b"{}" and is_regular(path)


def test_a_symbolic_link_is_refused_even_to_a_readable_notebook(tmp_path):
    target = tmp_path / "master.ipynb"
    target.write_text('{"cells": []}')
    link = tmp_path / "submission.ipynb"
    link.symlink_to("master.ipynb")
    with pytest.raises(NotARegularFile, match="symbolic link"):
        read_regular(link)
    assert not is_regular(link)


def test_a_named_pipe_is_refused_without_blocking(tmp_path):
    pipe = tmp_path / "pipe.ipynb"
    os.mkfifo(pipe)
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(_refusal(pipe)), daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert outcome == ["the submission is a named pipe"]


def _refusal(path):
    try:
        read_regular(path)
    except NotARegularFile as err:
        return str(err).split(",")[0]
    return "read"


def test_a_folder_and_a_device_are_refused(tmp_path):
    with pytest.raises(NotARegularFile, match="a folder"):
        read_regular(tmp_path)
    with pytest.raises(NotARegularFile, match="character device"):
        read_regular("/dev/null")


def test_a_file_over_the_limit_is_refused(tmp_path):
    path = tmp_path / "big.ipynb"
    path.write_bytes(b"x" * 101)
    with pytest.raises(NotARegularFile, match="more than the 100"):
        read_regular(path, limit=100)


@pytest.mark.parametrize(
    "raw",
    [b"/s/caf\xe9/a.ipynb", b"/s/\xff\xfe/x", b"/s/back\\slash\xff/x", b"/s/\\xff-literal\x80"],
)
def test_names_that_are_not_utf8_are_escaped_reversibly(raw):
    text, escaped = display_name(os.fsdecode(raw))
    assert escaped and text.isprintable()
    text.encode("utf-8")  # writable to every output
    assert name_bytes(text) == raw


def test_utf8_names_are_unchanged():
    assert display_name("/s/élève/a.ipynb") == ("/s/élève/a.ipynb", False)
