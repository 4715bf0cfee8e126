"""Response plans: every alert type has one, with unique step keys in both languages."""

from __future__ import annotations

from rules.alerts import AlertType
from rules.plans import PLANS, step_keys


def test_every_alert_type_has_a_plan_whose_steps_are_unique_and_named_twice():
    """Each type: 2–5 steps, keys unique within the plan, a Chinese and an English label."""
    assert set(PLANS) == set(AlertType)
    for alert_type, steps in PLANS.items():
        keys = step_keys(alert_type)
        assert 2 <= len(keys) <= 5 and len(set(keys)) == len(keys), alert_type
        assert all(s.zh and s.en and s.step.isidentifier() for s in steps)
    assert step_keys(AlertType.DOOR_BREACH)[:2] == ("call_officer", "check_camera")
