"""Body temperature: fever on a reading, missed reading when a reading window ends unmet.

State is kept per resident, keyed ``(household id, resident id)``: resident ids are unique in a
site, but the household in the key lets the gateway drop a released household's states at once.

``step`` applies one reading. ``tick`` looks at the reading windows (``policy.reading_windows``,
local times in the site's zone) that ended since the previous tick and raises ``missed_reading``
for every resident under isolation with no reading inside the window. Only the window that ended
last is considered: after an outage of hours or days the gateway reports the latest window, not a
backlog of stale ones nobody can act on. A reading that arrives late but was taken inside an
already reported window (a buffered BLE reading, an MQTT backlog after a restart) clears that
``missed_reading``.

Outside a household's isolation period (or when it has none) readings still update the state,
but nothing is raised: the household is not being watched. A fever is never cleared by a later
normal reading; the doctor closes it, since a single normal reading does not end a fever.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from rules.alerts import AlertType, Clear, Decision, Raise
from rules.directory import Binding, Directory
from rules.site import DailySpan, DeviceKind, Household, Period

ResidentKey = tuple[str, str]
"""``(household id, resident id)``."""

# Windows that ended longer ago than this are forgotten: every window recurs daily, so the one a
# tick or a late reading can still refer to has ended within the last day.
_KEEP = timedelta(days=2)

_NUMERALS = "零一二三四五六七八九十"

_ROSTER: tuple[Directory, list[tuple[Period, list[ResidentRef]]]] | None = None
"""The households under isolation and their residents, for the site last asked about."""


@dataclass(frozen=True, slots=True)
class Window:
    """One occurrence of a daily reading window: ``start`` inclusive, ``end`` exclusive."""

    span: str  # the policy's text, e.g. ``17:00-21:00``
    start: datetime
    end: datetime

    def contains(self, t: datetime) -> bool:
        """Whether ``t`` falls in this occurrence."""
        return self.start <= t < self.end


_NO_WINDOWS: frozenset[Window] = frozenset()
"""The one empty set of windows. An empty frozenset is 216 bytes and CPython does not share it:
a resident's state holds three, mostly empty, so each new one would cost 650 bytes a resident."""


@dataclass(frozen=True, slots=True)
class ReadingState:
    """What the rules remember of one resident's readings."""

    last_at: datetime | None = None
    last_celsius: float | None = None
    high_day: date | None = None  # local day the high-fever count belongs to
    high_count: int = 0  # readings above high_fever_celsius on high_day
    satisfied: frozenset[Window] = _NO_WINDOWS
    missed: frozenset[Window] = _NO_WINDOWS  # reported as missed_reading
    checked: frozenset[Window] = _NO_WINDOWS  # symptom check done or marked


NO_READINGS = ReadingState()
"""The state of a resident never heard from."""


@dataclass(frozen=True, slots=True)
class ResidentRef:
    """A resident to expect readings from, with the thermometer that takes them (if any)."""

    household: Household
    resident_id: str
    name: str
    thermometer: str | None

    @property
    def key(self) -> ResidentKey:
        """The state key."""
        return (self.household.id, self.resident_id)


def residents(household: Household) -> list[ResidentRef]:
    """Residents of a household: those listed, then any a thermometer names but the list lacks.

    Args:
        household: The household.

    Returns:
        One entry per resident id, with the first thermometer bound to that resident.
    """
    names = {r.id: r.name for r in household.residents}
    thermometers: dict[str, str] = {}
    for dev in household.devices:
        if dev.kind is DeviceKind.THERMOMETER and dev.resident is not None:
            thermometers.setdefault(dev.resident, dev.id)
    ids = list(dict.fromkeys([*names, *thermometers]))
    return [ResidentRef(household, rid, names.get(rid, rid), thermometers.get(rid)) for rid in ids]


def window_at(spans: Sequence[DailySpan], t: datetime, tz: ZoneInfo) -> Window | None:
    """The occurrence of a reading window that contains ``t``, or None.

    Args:
        spans: The policy's reading windows.
        t: An aware time.
        tz: The site's zone, in which the spans are local times.

    Returns:
        The first window (in policy order) whose occurrence contains ``t``.
    """
    local = t.astimezone(tz)
    day = local.date()
    for span in spans:
        if not span.contains(local.time()):
            continue
        # A span that wraps midnight and contains an early-morning time began the day before.
        wraps = span.end <= span.start
        start_day = day - timedelta(days=1) if wraps and local.time() < span.end else day
        return occurrence(span, start_day, tz)
    return None


def last_window_ended(
    spans: Sequence[DailySpan], after: datetime, upto: datetime, tz: ZoneInfo
) -> Window | None:
    """The occurrence with the latest end in ``(after, upto]``, or None.

    Args:
        spans: The policy's reading windows.
        after: Exclusive lower bound (the previous tick).
        upto: Inclusive upper bound (now).
        tz: The site's zone.

    Returns:
        The window that ended last, on a tie the first in policy order.
    """
    best: Window | None = None
    upto_day = upto.astimezone(tz).date()
    for span in spans:
        wraps = span.end <= span.start
        # The latest end at or before ``upto`` is today's or yesterday's.
        for end_day in (upto_day, upto_day - timedelta(days=1)):
            start_day = end_day - timedelta(days=1) if wraps else end_day
            w = occurrence(span, start_day, tz)
            if w.end <= upto:
                if w.end > after and (best is None or w.end > best.end):
                    best = w
                break
    return best


def windows_of_day(spans: Sequence[DailySpan], day: date, tz: ZoneInfo) -> list[Window]:
    """The occurrences of the reading windows that start on a local day, in policy order."""
    return [occurrence(span, day, tz) for span in spans]


def window_label(span: DailySpan) -> str:
    """A Chinese name for a window by its start, e.g. ``晚间(17:00-21:00)``."""
    h = span.start.hour
    part = (
        "凌晨"
        if h < 5
        else "早间"
        if h < 11
        else "午间"
        if h < 13
        else "下午"
        if h < 17
        else "晚间"
    )
    return f"{part}({span.text})"


def step(
    state: ReadingState,
    celsius: float,
    at: datetime,
    binding: Binding,
    directory: Directory,
    *,
    now: datetime,
) -> tuple[ReadingState, tuple[Decision, ...]]:
    """Apply one temperature reading taken at ``at`` by a bound thermometer.

    Args:
        state: The resident's state (``ReadingState()`` for the first reading).
        celsius: The reading, already range-checked by the decoder.
        at: When it was taken (the device's time when it gave one).
        binding: The thermometer and its household.
        directory: The site.
        now: The gateway's time: a fever goes to whoever is on duty now.

    Returns:
        The new state and the decisions: ``fever`` at or above ``policy.fever_celsius``, and a
        ``Clear`` of ``missed_reading`` when the reading belongs to a window already reported.
    """
    policy, tz = directory.policy, directory.site.tz
    hh, dev = binding.household, binding.device
    local = at.astimezone(tz)
    decisions: list[Decision] = []

    window = window_at(policy.reading_windows, at, tz)
    satisfied, missed = state.satisfied, state.missed
    if window is not None:
        satisfied = satisfied | {window}
        if window in missed:
            missed = missed - {window}
            ref = _resident_ref(hh, dev.resident)
            decisions.append(
                Clear(
                    AlertType.MISSED_READING,
                    hh.id,
                    ref.thermometer if ref else dev.id,
                    at,
                    f"已补测 {celsius:.1f}°C ({local:%H:%M})",
                )
            )

    # "Above" the high-fever line, as the message says (超过): strictly greater.
    high = celsius > policy.high_fever_celsius
    high_day, high_count, nth = state.high_day, state.high_count, 1
    if high:
        day = local.date()
        if high_day == day:
            high_count += 1
            nth = high_count
        elif high_day is None or day > high_day:
            high_day, high_count = day, 1
        # A late reading from an earlier day is not counted: the count is today's.

    newer = state.last_at is None or at >= state.last_at
    new = ReadingState(
        last_at=at if newer else state.last_at,
        last_celsius=celsius if newer else state.last_celsius,
        high_day=high_day,
        high_count=high_count,
        satisfied=_recent(satisfied, at),
        missed=_recent(missed, at),
        checked=state.checked,
    )

    isolated = hh.isolation is not None and hh.isolation.contains(at)
    if isolated and celsius >= policy.fever_celsius:
        ref = _resident_ref(hh, dev.resident)
        who = f" {ref.name}" if ref else ""
        message = f"体温: {hh.address}{who} {celsius:.1f}°C ({local:%H:%M})"
        if high:
            line = f"{policy.high_fever_celsius:g}°C"
            message += f" 今日第{_nth(nth)}次超过{line}" if nth > 1 else f" 超过{line}"
        recipients = directory.recipients(AlertType.FEVER, hh, now)
        decisions.append(
            Raise(AlertType.FEVER, hh.id, dev.id, at, message, recipients, resident=dev.resident)
        )
    return new, tuple(decisions)


def tick(
    state_by_resident: Mapping[ResidentKey, ReadingState],
    now: datetime,
    directory: Directory,
    last_tick: datetime | None,
) -> tuple[dict[ResidentKey, ReadingState], tuple[Decision, ...]]:
    """Raise ``missed_reading`` for the reading window that ended since the previous tick.

    Args:
        state_by_resident: Every resident's state; a resident without one has no readings.
        now: The time of this tick.
        directory: The site.
        last_tick: The time of the previous tick, persisted across restarts; None on a fresh
            install (nothing is reported until a window ends after the first tick).

    Returns:
        The new states (the input's, with reported windows recorded) and the decisions: at most
        one ``missed_reading`` per resident, dated at the window's end.
    """
    states = dict(state_by_resident)
    changed, decisions = missed_readings(state_by_resident, now, directory, last_tick)
    states.update(changed)
    return states, decisions


def missed_readings(
    state_by_resident: Mapping[ResidentKey, ReadingState],
    now: datetime,
    directory: Directory,
    last_tick: datetime | None,
) -> tuple[dict[ResidentKey, ReadingState], tuple[Decision, ...]]:
    """``tick``, returning only the states that changed (nothing at all unless a window ended:
    then every resident watched for all of it is due, and old windows are forgotten)."""
    window = ended_window(directory, last_tick, now)
    if window is None:
        return {}, ()
    changed: dict[ResidentKey, ReadingState] = {}
    decisions: list[Decision] = []
    for ref in watched(directory, window):
        st = state_by_resident.get(ref.key, NO_READINGS)
        if window in st.satisfied or window in st.missed:
            continue
        changed[ref.key] = replace(st, missed=st.missed | {window})
        decisions.append(_missed(ref, window, directory, now))
    # Forget old windows only when one ended, so a tick every few seconds copies nothing; a
    # state with nothing to forget stays the same object (the watch stages only what changed).
    cutoff = (now - _KEEP).astimezone(directory.tz)  # the windows' zone: a quick comparison
    for k, s in state_by_resident.items():
        s = changed.get(k, s)
        satisfied, missed = _recent_since(s.satisfied, cutoff), _recent_since(s.missed, cutoff)
        if satisfied is not s.satisfied or missed is not s.missed:
            changed[k] = replace(s, satisfied=satisfied, missed=missed)
    return changed, tuple(decisions)


def ended_window(directory: Directory, last_tick: datetime | None, now: datetime) -> Window | None:
    """The reading window that ended since the previous tick, if one did."""
    if last_tick is None or now <= last_tick:
        return None
    return last_window_ended(directory.policy.reading_windows, last_tick, now, directory.tz)


def watched(directory: Directory, window: Window) -> Iterator[ResidentRef]:
    """The residents of the households under isolation for all of ``window``: someone isolated
    at 08:00 cannot be blamed for missing a 06:00-10:00 reading."""
    global _ROSTER
    if _ROSTER is None or _ROSTER[0] is not directory:
        roster = [(hh.isolation, residents(hh)) for hh in directory.households.values()]
        _ROSTER = (directory, [(iso, refs) for iso, refs in roster if iso is not None and refs])
    for iso, refs in _ROSTER[1]:
        if iso.start <= window.start and window.end <= iso.end:
            yield from refs


def symptom_checked(state: ReadingState, at: datetime, directory: Directory) -> ReadingState:
    """A symptom check at ``at``: the reading window it falls in is checked."""
    window = window_at(directory.policy.reading_windows, at, directory.tz)
    if window is None or window in state.checked:
        return state
    return checked(state, window, at)


def checked(state: ReadingState, window: Window, t: datetime) -> ReadingState:
    """The state with ``window`` checked (done, or marked missed) at ``t``."""
    return replace(state, checked=_recent(state.checked | {window}, t))


def _missed(ref: ResidentRef, window: Window, directory: Directory, now: datetime) -> Raise:
    span = DailySpan.parse(window.span)
    hh = ref.household
    return Raise(
        AlertType.MISSED_READING,
        hh.id,
        ref.thermometer,
        window.end,
        f"漏测: {hh.address} {ref.name} {window_label(span)}未测体温",
        # Told to whoever is on duty when it is raised: after an outage the window may have
        # ended in a shift that is over.
        directory.recipients(AlertType.MISSED_READING, hh, now),
        resident=ref.resident_id,
    )


def occurrence(span: DailySpan, start_day: date, tz: ZoneInfo) -> Window:
    """The occurrence of a daily window that starts on a local day (it may end the next)."""
    wraps = span.end <= span.start
    end_day = start_day + timedelta(days=1) if wraps else start_day
    return Window(
        span.text,
        datetime.combine(start_day, span.start, tzinfo=tz),
        datetime.combine(end_day, span.end, tzinfo=tz),
    )


def _resident_ref(hh: Household, resident_id: str | None) -> ResidentRef | None:
    return next((r for r in residents(hh) if r.resident_id == resident_id), None)


def _recent(windows: frozenset[Window], t: datetime) -> frozenset[Window]:
    return _recent_since(windows, t - _KEEP)


def _recent_since(windows: frozenset[Window], cutoff: datetime) -> frozenset[Window]:
    if all(w.end > cutoff for w in windows):
        return windows
    return frozenset(w for w in windows if w.end > cutoff) or _NO_WINDOWS


def _nth(n: int) -> str:
    return _NUMERALS[n] if n <= 10 else str(n)
