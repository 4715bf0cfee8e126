"""One step up an alert's escalation ladder, decided from the site: who is added, and when the
next step is due. Pure; the desk stages the result."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from gateway.store.records import Alert
from rules import escalation
from rules.alerts import AlertStatus
from rules.care import fast_escalation
from rules.directory import Directory


def step_up(alert: Alert, directory: Directory, now: datetime) -> tuple[Alert, list[str]] | None:
    """The alert one step up, and the people that step adds; None for a severity that does not
    escalate or a household gone from the site.

    A step that would tell nobody new (the officer already has a breach) is passed over in the
    same move, so that the next person who can act hears after one timeout, not two.
    """
    policy = directory.policy
    top = len(policy.escalation) - 1
    fast = fast_escalation(alert.type, alert.vulnerable)
    if alert.severity not in policy.escalate_severities and not fast:
        return None
    hh = directory.households.get(alert.household_id)
    if hh is None:
        return None
    level = min(alert.escalation_level, top)
    recipients = alert.recipients
    while level < top:
        level += 1
        recipients = escalation.escalation_targets(
            level, hh, policy, directory, now, alert.recipients
        )
        if set(recipients) - set(alert.recipients):
            break
    up = replace(
        alert,
        status=AlertStatus.ESCALATED,
        escalation_level=level,
        recipients=recipients,
        updated_at=now,
        next_escalation_at=escalation.next_escalation(level, now, policy, fast=fast),
    )
    return up, [p for p in recipients if p not in alert.recipients]
