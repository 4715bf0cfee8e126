// What the console knows right now, in memory only: the unresolved alerts of the user's scope,
// the response plans, the households' latest state and the staff names it has learnt.

export const SEVERITY_RANK = { critical: 0, high: 1, warning: 2, info: 3 };
const UNACKED = new Set(["open", "escalated"]);

export const state = {
  alerts: new Map(), // id -> AlertOut, unresolved only
  plans: {}, // alert type -> [{step, zh, en}]
  households: new Map(), // id -> household brief (GET /api/v1/households)
  names: new Map(), // staff id -> name
  filter: "all",
  selected: null, // alert id shown in the detail panel
};

const listeners = new Set();

/** Call `fn(what)` whenever something changes ("alerts", "households", "names"). */
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function changed(what) {
  for (const fn of listeners) fn(what);
}

export function isUnacked(alert) {
  return UNACKED.has(alert.status);
}

export function isLoud(alert) {
  return isUnacked(alert) && (alert.severity === "critical" || alert.severity === "high");
}

/**
 * Take in an alert from REST or the stream. A resolved one leaves the queue; an older copy never
 * replaces a newer one. Returns true when it is a critical or high alert nobody has acknowledged
 * that the console did not know as such before (a reason to sound again even when muted).
 */
export function takeAlert(alert) {
  const known = state.alerts.get(alert.id);
  if (known && (known.updated_at || "") > (alert.updated_at || "")) return false;
  if (alert.status === "resolved") {
    state.alerts.delete(alert.id);
    return false;
  }
  state.alerts.set(alert.id, alert);
  const h = state.households.get(alert.household);
  if (h && alert.address == null) alert.address = h.address;
  return isLoud(alert) && !(known && isLoud(known) && known.count === alert.count);
}

/** Newest critical first: by severity, then not-yet-acknowledged, then newest raised. */
export function sortedAlerts() {
  return [...state.alerts.values()].sort(
    (a, b) =>
      (SEVERITY_RANK[a.severity] ?? 9) - (SEVERITY_RANK[b.severity] ?? 9) ||
      Number(isUnacked(b)) - Number(isUnacked(a)) ||
      (b.raised_at || "").localeCompare(a.raised_at || ""),
  );
}

export function unackedCount() {
  let n = 0;
  for (const a of state.alerts.values()) if (isUnacked(a)) n += 1;
  return n;
}

/** "李伟 (w1)" when the name is known, else the id. */
export function who(id) {
  if (!id) return "";
  const name = state.names.get(id);
  return name && name !== id ? `${name} (${id})` : id;
}
