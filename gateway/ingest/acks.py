"""Acknowledgements from police apps over MQTT (SPEC §3): what a message on the ack topic says.

A phone acknowledges on ``<base>/ack/<person_id>/<alert_id>``, with an empty payload or
``{"note": "..."}``. The person is named by the topic, not the payload, because the broker's
ACL (``pattern write <base>/ack/%u/+``, written by ``isogate broker-config``) lets only that
person's login publish there: the topic is the proof of who sent it. Whether that person was
sent the alert is for the alert desk to say; this module only reads the message.

The old form, ``<base>/ack/<alert_id>`` with ``{"by": "p1"}``, names the sender in the payload,
which any client can write: it is refused, with a reason that names the topic to use instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from devices import safe_json

NOTE_MAX = 2000
"""The longest note an acknowledgement may carry, in characters."""


@dataclass(frozen=True, slots=True)
class Ack:
    """An acknowledgement as the topic and payload state it (not yet checked against the alert).

    Attributes:
        person_id: whose ack topic it came on (the broker's ACL vouches for the sender).
        alert_id: the alert acknowledged.
        note: what the person said with it, or None.
    """

    person_id: str
    alert_id: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Refused:
    """A message on the ack topics that is not an acknowledgement; ``reason`` says why."""

    reason: str


def parse_ack(topic: str, payload: bytes, prefix: str) -> Ack | Refused:
    """Read one message from the ack topics; pure: no I/O, no clock.

    Args:
        topic: the topic it came on; it starts with ``prefix``.
        payload: its body: empty, or a JSON object whose only key is ``note`` (a string of at
            most ``NOTE_MAX`` characters).
        prefix: the ack topics' prefix, ``<base>/ack/``.

    Returns:
        The :class:`Ack`, or :class:`Refused` with the reason for the rejected list.
    """
    levels = topic[len(prefix) :].split("/") if topic.startswith(prefix) else []
    new_form = f"{prefix}<person_id>/<alert_id>"
    if len(levels) == 1 and levels[0]:
        return Refused(
            f"ack on {topic} refused: the old form {prefix}<alert_id> names its sender in the "
            f"payload, which proves nothing about who sent it; acknowledge on {new_form}"
        )
    if len(levels) != 2 or not all(levels):
        return Refused(f"ack on {topic} refused: the ack topic is {new_form}")
    person_id, alert_id = levels
    note = _note(payload)
    if isinstance(note, Refused):
        return note
    return Ack(person_id, alert_id, note)


def _note(payload: bytes) -> str | Refused | None:
    """The note of an ack payload (None when there is none), or why the payload is refused."""
    if not payload.strip():
        return None
    expected = 'an ack payload is empty or {"note": "..."}'
    try:
        body = safe_json(payload)
    except ValueError as exc:
        return Refused(f"ack refused: {exc}; {expected}")
    if not isinstance(body, dict):
        return Refused(f"ack refused: the payload is a JSON {type(body).__name__}; {expected}")
    extra = sorted(k for k in body if k != "note")
    if extra:
        keys = ", ".join(repr(k[:40]) for k in extra[:5])
        return Refused(f"ack refused: unexpected key {keys}; {expected}")
    note = body.get("note")
    if note is None:
        return None
    if not isinstance(note, str):
        return Refused(f"ack refused: the note is not a string; {expected}")
    if len(note) > NOTE_MAX:
        return Refused(f"ack refused: the note has {len(note)} characters, over {NOTE_MAX}")
    return note.strip() or None
