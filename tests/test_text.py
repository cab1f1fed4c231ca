"""Tests for backlinks_django.text: cropping plain text at word boundaries."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backlinks_django.text import crop, to_single_line


@pytest.mark.parametrize(
    ("text", "max_length", "cropped"),
    [
        pytest.param("short  text ", 12, "short  text ", id="short-text-unchanged"),
        pytest.param("hello wonderful world", 18, "hello wonderful…", id="at-word-boundary"),
        pytest.param("abcdefghijkl", 5, "abcd…", id="inside-a-word-without-spaces"),
    ],
)
def test_crop(text: str, max_length: int, cropped: str) -> None:
    assert crop(text, max_length) == cropped


@given(st.text(), st.integers(min_value=-5, max_value=300))
def test_crop_never_exceeds_max_length(text: str, max_length: int) -> None:
    assert len(crop(text, max_length)) <= max(max_length, 0)


def test_single_line_collapses_whitespace_and_drops_control_characters() -> None:
    assert to_single_line(" a\r\n\tb\x00c\x85 ") == "a bc"
