"""What the API hides from whom (SPEC 信息保密): phone numbers masked for roles that do not need
them, and a webhook's key or token never shown.

The officer and the doctor of a household call its people, and supervisors and admins answer for
all of them: they see phone numbers in full. Everyone else (the watcher, the technician) sees
``138****5678``: enough to tell two numbers apart, not enough to call.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from api.auth import User
from gateway.notify.redact import HIDDEN, redact_url
from rules.directory import Directory

_PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,19}$")

# A path segment this long, or with a colon (Telegram's ``bot<id>:<token>``), is taken for a
# credential: Feishu and Slack hooks and Telegram bots carry theirs in the path, not the query.
_SECRET_SEGMENT = re.compile(r"^.{16,}$|:")


def mask_phone(phone: str) -> str:
    """A phone number with four digits before the last four hidden.

    ``13812345678`` → ``138****5678``; ``+8613812345678`` → ``+86138****5678``; a short number
    keeps only its last two digits.
    """
    if len(phone) < 8:
        return "*" * max(0, len(phone) - 2) + phone[-2:]
    return phone[:-8] + "****" + phone[-4:]


def sees_phones(user: User, household_id: str | None, directory: Directory) -> bool:
    """Whether ``user`` sees the phone numbers of a household's people in full."""
    if user.role in ("supervisor", "admin"):
        return True
    hh = directory.households.get(household_id or "")
    if hh is None or user.role not in ("officer", "doctor"):
        return False
    return bool(getattr(hh, user.role) == user.name)


def safe_url(url: str) -> str:
    """A webhook URL without its credentials: no user info, no query, no token in its path."""
    parts = urlsplit(redact_url(url))
    path = "/".join(HIDDEN if _SECRET_SEGMENT.search(seg) else seg for seg in parts.path.split("/"))
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def shown_target(target: str, *, phones: bool) -> str:
    """A delivery target as a caller may see it: a URL without secrets, a phone masked unless
    ``phones``, a topic as it is."""
    if "://" in target:
        return safe_url(target)
    if _PHONE.match(target) and not phones:
        return mask_phone(target)
    return target
