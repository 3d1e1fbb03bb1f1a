"""bench/__main__.py marks a section measured while the machine was busier than its cores."""

from __future__ import annotations

from bench.__main__ import load_note, measured


def test_a_section_whose_load_exceeded_the_cores_says_it_was_measured_under_load() -> None:
    assert load_note(2.5, 2).startswith("**Measured under load**: ")
    assert "2.5 on 2 cores" in load_note(2.5, 2)


def test_a_section_within_the_cores_is_not_marked() -> None:
    assert "under load" not in load_note(1.9, 2)
    assert "1.9" in load_note(1.9, 2)


def test_measured_returns_the_body_with_a_load_line() -> None:
    body, load = measured(lambda: "the section")
    assert body == "the section"
    assert "load average" in load
