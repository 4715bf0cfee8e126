"""Response plans: per alert type, the few steps a duty watcher takes, ticked at the console.

Pure data and lookups. A step's key is what the alert's history records (action ``step``, the
key as its note); ``zh`` and ``en`` are what the console shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from rules.alerts import AlertType


@dataclass(frozen=True, slots=True)
class PlanStep:
    """One step of a response plan."""

    step: str
    zh: str
    en: str


_CALL_OFFICER = PlanStep("call_officer", "电话联系包保民警", "Call the household's officer")
_CALL_HOUSEHOLD = PlanStep("call_household", "电话联系住户", "Call the household")
_CAMERA = PlanStep("check_camera", "查看门口摄像头画面", "Look at the door camera")
_DOCTOR = PlanStep("call_doctor", "通知随访医生", "Tell the household's doctor")
_TECHNICIAN = PlanStep("call_technician", "通知安装人员检修", "Send the technician")
_OUTCOME = PlanStep("note_outcome", "记录处置结果", "Note the outcome")

PLANS: dict[AlertType, tuple[PlanStep, ...]] = {
    AlertType.DOOR_BREACH: (_CALL_OFFICER, _CAMERA, _CALL_HOUSEHOLD, _OUTCOME),
    AlertType.DOOR_LEFT_OPEN: (_CAMERA, _CALL_HOUSEHOLD, _CALL_OFFICER, _OUTCOME),
    AlertType.TAMPER: (_CAMERA, _CALL_OFFICER, _TECHNICIAN, _OUTCOME),
    AlertType.FEVER: (
        _CALL_HOUSEHOLD,
        PlanStep("recheck", "请住户复测体温", "Ask for a second reading"),
        _DOCTOR,
        _OUTCOME,
    ),
    AlertType.MISSED_READING: (
        PlanStep("remind_resident", "提醒住户测量体温", "Remind the resident to take a reading"),
        _DOCTOR,
        _OUTCOME,
    ),
    AlertType.SYMPTOM: (
        _CALL_HOUSEHOLD,
        _DOCTOR,
        PlanStep("arrange_test", "安排上门采样", "Arrange a test at the door"),
        _OUTCOME,
    ),
    AlertType.DEVICE_OFFLINE: (_CALL_HOUSEHOLD, _TECHNICIAN, _OUTCOME),
    AlertType.LOW_BATTERY: (
        PlanStep("replace_battery", "安排更换电池", "Arrange a battery change"),
        _OUTCOME,
    ),
    AlertType.MOTION_AT_DOOR: (_CAMERA, _CALL_HOUSEHOLD, _OUTCOME),
    AlertType.NO_WATCHER_ON_DUTY: (
        PlanStep("call_supervisor", "联系值班负责人安排人员", "Call the supervisor for cover"),
        PlanStep("assign_watcher", "安排值班人员接管", "Assign a watcher"),
        _OUTCOME,
    ),
}


def step_keys(alert_type: AlertType) -> tuple[str, ...]:
    """The keys of an alert type's plan, in order (empty for a type without a plan)."""
    return tuple(s.step for s in PLANS.get(alert_type, ()))
