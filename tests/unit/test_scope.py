"""Which households each role sees: assigned ones for officers, doctors and technicians; those
of their shifts for watchers; all for supervisors and admins; none for anything else."""

from __future__ import annotations

import pytest

from api.auth import User
from rules.directory import Directory
from rules.site import Site
from tests.conftest import site_doc


def directory(w2_households: str | list[str] | None = None) -> Directory:
    """The test community; w2 watches h1 by day (or ``w2_households``) and h2 in the evening."""
    doc = site_doc()
    doc["shifts"][1]["households"] = w2_households or ["h1"]
    doc["shifts"].append({"watcher": "w2", "daily": "20:00-22:00", "households": ["h2"]})
    return Directory.build(Site.model_validate(doc))


@pytest.mark.parametrize(
    ("user", "sees"),
    [
        (User("p1", "officer"), {"h1"}),
        (User("p2", "officer"), {"h2"}),
        (User("d1", "doctor"), {"h1", "h2"}),
        (User("t1", "technician"), {"h1", "h2"}),
        (User("nobody", "officer"), set()),
        (User("w1", "watcher"), None),
        (User("w3", "watcher"), None),
        (User("s1", "supervisor"), None),
        (User("root", "admin"), None),
        (User("x", "link"), set()),
    ],
)
def test_each_role_sees_its_households(user: User, sees: set[str] | None):
    """None means all households."""
    assert user.households(directory()) == sees


def test_a_watcher_sees_every_shift_of_theirs_and_all_if_one_is_over_all():
    """w2 watches h1 by day and h2 in the evening: both; a shift over all: all."""
    assert User("w2", "watcher").households(directory()) == {"h1", "h2"}
    assert User("w2", "watcher").households(directory("all")) is None
    assert User("w9", "watcher").households(directory()) == set()
    assert not User("w9", "watcher").may_see("h1", directory())
