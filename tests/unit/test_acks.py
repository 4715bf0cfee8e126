"""Messages on the ack topics read as acknowledgements, or refused with a reason to act on."""

from __future__ import annotations

import json

import pytest

from gateway.ingest.acks import NOTE_MAX, Ack, Refused, parse_ack

PREFIX = "isogate/ack/"

# A police app's acknowledgement with nothing said (SPEC §3): the topic names the person.
PHONE_ACK_EMPTY = (f"{PREFIX}p1/01JD3ALERT", b"")
# The same with the officer's note.
PHONE_ACK_NOTE = (f"{PREFIX}p1/01JD3ALERT", '{"note": "已电话联系住户，正在赶往"}'.encode())
# What phones sent before issue 10: the alert on the topic, the sender claimed in the payload.
OLD_APP_ACK = (f"{PREFIX}01JD3ALERT", b'{"by": "p1"}')


def test_an_empty_payload_on_the_person_topic_is_an_ack_without_a_note():
    """``<base>/ack/p1/<alert>`` with nothing in it: p1 acknowledges that alert."""
    assert parse_ack(*PHONE_ACK_EMPTY, PREFIX) == Ack("p1", "01JD3ALERT", None)


def test_a_note_travels_with_the_ack():
    """``{"note": ...}``: the note is kept for the alert's history."""
    assert parse_ack(*PHONE_ACK_NOTE, PREFIX) == Ack("p1", "01JD3ALERT", "已电话联系住户，正在赶往")


@pytest.mark.parametrize("payload", [b"  \n", b'{"note": null}', b'{"note": "   "}', b"{}"])
def test_a_blank_note_is_no_note(payload: bytes):
    """Whitespace, null or an empty object: an ack without a note."""
    assert parse_ack(f"{PREFIX}p1/A1", payload, PREFIX) == Ack("p1", "A1", None)


def test_the_old_form_is_refused_and_names_the_topic_to_use():
    """``<base>/ack/<alert>`` with ``{"by": ...}`` proves nothing about the sender: refused."""
    refused = parse_ack(*OLD_APP_ACK, PREFIX)
    assert isinstance(refused, Refused)
    assert "proves nothing" in refused.reason
    assert f"{PREFIX}<person_id>/<alert_id>" in refused.reason


def test_claiming_a_sender_in_the_payload_is_refused_on_the_new_topic_too():
    """``{"by": "p2"}`` on p1's topic is not a note: the payload is refused, naming the key."""
    refused = parse_ack(f"{PREFIX}p1/A1", b'{"by": "p2"}', PREFIX)
    assert isinstance(refused, Refused)
    assert "unexpected key 'by'" in refused.reason


@pytest.mark.parametrize(
    ("payload", "said"),
    [
        (b"[]", "JSON list"),
        (b'"ok"', "JSON str"),
        (b"not json", "not JSON"),
        (b'{"note": 5}', "note is not a string"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[" * 5000, "nest"),
    ],
)
def test_a_payload_that_is_not_empty_or_a_note_is_refused_with_its_reason(
    payload: bytes, said: str
):
    """Anything but nothing or ``{"note": "..."}`` is refused, saying what was wrong."""
    refused = parse_ack(f"{PREFIX}p1/A1", payload, PREFIX)
    assert isinstance(refused, Refused)
    assert said in refused.reason


def test_a_note_of_2000_characters_is_taken_and_one_more_is_refused():
    """The note's limit is 2000 characters (not bytes: Chinese text counts once per character)."""
    longest = json.dumps({"note": "门" * NOTE_MAX}, ensure_ascii=False).encode()
    assert parse_ack(f"{PREFIX}p1/A1", longest, PREFIX) == Ack("p1", "A1", "门" * NOTE_MAX)
    over = json.dumps({"note": "门" * (NOTE_MAX + 1)}).encode()
    refused = parse_ack(f"{PREFIX}p1/A1", over, PREFIX)
    assert isinstance(refused, Refused)
    assert "2001 characters, over 2000" in refused.reason


@pytest.mark.parametrize("rest", ["p1/", "/A1", "p1/A1/extra", ""])
def test_a_topic_without_exactly_a_person_and_an_alert_is_refused(rest: str):
    """Empty levels or a third level: not an ack topic; the reason gives its form."""
    refused = parse_ack(f"{PREFIX}{rest}", b"", PREFIX)
    assert isinstance(refused, Refused)
    assert "<person_id>/<alert_id>" in refused.reason
    assert "proves nothing" not in refused.reason
