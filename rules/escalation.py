"""Escalation of unacknowledged alerts along ``policy.escalation`` (SPEC §3).

Levels:

- Level 0 is the alert as raised: its recipients are the alert type's audience, given by the
  rule that raised it. ``policy.escalation[0]`` (a watcher by default) names who is expected to
  act first; it adds nobody at level 0.
- Level n >= 1 adds the people of step ``policy.escalation[n]``, looked up at the time of the
  escalation (the watchers on duty then, not those of the raise). Recipients are cumulative and
  deduplicated: whoever was told before stays told, in the order they were first told.
- An alert at level n escalates to n + 1 ``policy.ack_timeout_s`` after it was raised or last
  escalated, while ``n + 1 < len(policy.escalation)``; then the ladder is exhausted and the alert
  stays at its top level until someone acts.

Escalation stops at once on acknowledgement: an acknowledged (or resolved) alert is never due,
whatever its time. A step may find nobody new (the officer already had a breach alert); the
alert still moves up a level, so the timing of the next step does not depend on who was on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from rules.directory import Directory
from rules.site import Household, Policy, Role


class LevelOutOfRangeError(ValueError):
    """A level outside the policy's ladder."""

    def __init__(self, level: int, top: int | None = None) -> None:
        where = f"outside 0..{top}" if top is not None else "negative"
        super().__init__(f"escalation level {level} is {where}")
        self.level = level
        self.top = top


def step_role(level: int, policy: Policy) -> Role:
    """The role of the ladder's step at ``level``.

    Args:
        level: 0 .. ``len(policy.escalation) - 1``.
        policy: The site's policy.

    Returns:
        The role named by ``policy.escalation[level]``.

    Raises:
        LevelOutOfRangeError: For a level outside the ladder.
    """
    _check(level, policy)
    return policy.escalation[level]


def escalation_targets(
    level: int,
    household: Household,
    policy: Policy,
    directory: Directory,
    at: datetime,
    initial: Iterable[str] = (),
) -> tuple[str, ...]:
    """Who an alert at ``level`` goes to.

    Args:
        level: 0 for the alert as raised; n >= 1 after n escalations.
        household: The alert's household.
        policy: The site's policy (its ``escalation`` ladder).
        directory: The site, for the roster and the household's staff.
        at: When the alert reaches this level (the roster is read at this time).
        initial: The alert's recipients at level 0.

    Returns:
        ``initial`` followed by the people of steps 1..level, each once, in first-told order.

    Raises:
        LevelOutOfRangeError: For a level outside the ladder.
    """
    _check(level, policy)
    out: dict[str, None] = dict.fromkeys(initial)
    for role in policy.escalation[1 : level + 1]:
        for pid in directory.people(role, household, at):
            out.setdefault(pid, None)
    return tuple(out)


def next_escalation(
    level: int, raised_or_last_escalated_at: datetime, policy: Policy, *, fast: bool = False
) -> datetime | None:
    """When an alert at ``level`` escalates if nobody acknowledges it.

    Args:
        level: The alert's current level.
        raised_or_last_escalated_at: When it was raised (level 0) or reached ``level``.
        policy: The site's policy.
        fast: Half the timeout (a vulnerable resident's missed reading or symptom).

    Returns:
        ``ack_timeout_s`` later (half with ``fast``), or None at the top of the ladder.

    Raises:
        LevelOutOfRangeError: For a level outside the ladder.
    """
    _check(level, policy)
    if level + 1 >= len(policy.escalation):
        return None
    timeout = policy.ack_timeout_s / 2 if fast else policy.ack_timeout_s
    return raised_or_last_escalated_at + timedelta(seconds=timeout)


def due(alert_level: int, next_at: datetime | None, now: datetime, acked: bool) -> bool:
    """Whether an alert should move from ``alert_level`` to the next level now.

    Args:
        alert_level: The alert's current level; it must not be negative.
        next_at: What ``next_escalation`` gave for this level (None: ladder exhausted).
        now: The time of the check.
        acked: Whether the alert is acknowledged or resolved; either stops escalation.

    Returns:
        True when unacknowledged and ``now`` has reached ``next_at``.

    Raises:
        LevelOutOfRangeError: For a negative level (a corrupt record should not escalate).
    """
    if alert_level < 0:
        raise LevelOutOfRangeError(alert_level)
    return not acked and next_at is not None and now >= next_at


def _check(level: int, policy: Policy) -> None:
    top = len(policy.escalation) - 1
    if not 0 <= level <= top:
        raise LevelOutOfRangeError(level, top)
