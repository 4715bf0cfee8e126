"""What the resident page's POST bodies are read as: JSON and forms alike, nothing else."""

from __future__ import annotations

from urllib.parse import parse_qs

from api.resident_body import Body


def form(text: str) -> Body:
    return Body(parse_qs(text), form=True)


def test_a_form_and_json_say_the_same_thing():
    """reason, resident and symptoms read the same from either shape."""
    as_form = form("reason=+garbage+&resident=2&symptoms=fever&symptoms=fatigue")
    as_json = Body({"reason": " garbage ", "resident": 2, "symptoms": ["fever", "fatigue"]})
    for b in (as_form, as_json):
        assert b.text("reason") == "garbage"
        assert b.number("resident") == 2
        assert b.texts("symptoms") == ["fever", "fatigue"]


def test_a_form_without_ticked_symptoms_means_none_and_json_must_say_so():
    """An HTML form sends no field for unticked boxes; JSON must send a list."""
    assert form("resident=1").texts("symptoms") == []
    assert form("resident=1&symptoms=").texts("symptoms") == []
    assert Body({"resident": 1}).texts("symptoms") is None
    assert Body({"symptoms": "fever"}).texts("symptoms") is None
    assert Body({"symptoms": ["fever", 3]}).texts("symptoms") is None


def test_only_whole_numbers_are_positions():
    """A bool, a float, a sign, wide digits or a huge number is no resident's position."""
    for bad in (True, 1.0, "1", None):
        assert Body({"resident": bad}).number("resident") is None
    for bad in ("-1", "1.0", "１", "99999999", "", "x"):
        assert form(f"resident={bad}").number("resident") is None, bad
    assert form("resident=3").number("resident") == 3


def test_empty_or_wrong_text_is_none():
    """Blank text, a number or a list where text is wanted: None."""
    for bad in ("", "   ", 5, ["garbage"], None):
        assert Body({"reason": bad}).text("reason") is None
    assert form("reason=").text("reason") is None
