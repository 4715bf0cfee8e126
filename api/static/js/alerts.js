// The alert queue and one alert's panel: acknowledge, tick the response plan's steps, resolve
// with a note. A filter narrows the list, but never below the open critical alerts.

import { get, post } from "./api.js";
import { fill, h, localPath } from "./dom.js";
import { clock, currentLang, t, tOr } from "./i18n.js";
import {
  changed,
  isUnacked,
  sortedAlerts,
  state,
  takeAlert,
  unackedCount,
  who,
} from "./state.js";
import { vulnBadge } from "./vulnerable.js";

const FILTERS = {
  all: () => true,
  urgent: (a) => a.severity === "critical" || a.severity === "high",
  unacked: (a) => isUnacked(a),
};

/** What the filter shows, and always every unresolved critical alert. */
function shown() {
  const keep = FILTERS[state.filter] ?? FILTERS.all;
  return sortedAlerts().filter((a) => a.severity === "critical" || keep(a));
}

export function typeName(type) {
  const key = `type.${type}`;
  const text = t(key);
  return text === key ? type : text;
}

function badge(alert) {
  return h("span", { class: `sev sev-${alert.severity}` }, t(`sev.${alert.severity}`));
}

function card(alert) {
  const selected = state.selected === alert.id;
  return h(
    "li",
    {
      class: `alert sev-${alert.severity}${isUnacked(alert) ? " unacked" : " acked"}${
        selected ? " selected" : ""
      }`,
      dataset: { id: alert.id, household: alert.household, severity: alert.severity, status: alert.status },
      tabindex: "0",
      onclick: () => select(alert.id),
      onkeydown: (ev) => ev.key === "Enter" && select(alert.id),
    },
    h(
      "div",
      { class: "alert-head" },
      badge(alert),
      h("strong", { class: "alert-type" }, typeName(alert.type)),
      vulnBadge(alert.vulnerable),
      h("span", { class: "alert-time" }, clock(alert.raised_at)),
    ),
    h("div", { class: "alert-address" }, alert.address ?? alert.household),
    h(
      "div",
      { class: "alert-meta" },
      h("span", { class: `status status-${alert.status}` }, t(`status.${alert.status}`)),
      alert.acked_by ? h("span", {}, t("alert.ackedBy", { who: who(alert.acked_by), at: "" })) : null,
      alert.count > 1 ? h("span", {}, t("alert.count", { n: alert.count })) : null,
      alert.escalation_level > 0
        ? h("span", {}, t("alert.escalated", { n: alert.escalation_level }))
        : null,
    ),
  );
}

function select(id) {
  state.selected = id;
  changed("selected");
}

/** The list with its filter, into `list`. */
export function renderQueue(root) {
  const alerts = shown();
  const filter = h(
    "label",
    { class: "filter" },
    t("alerts.filter"),
    " ",
    h(
      "select",
      {
        id: "alert-filter",
        onchange: (ev) => {
          state.filter = ev.target.value;
          changed("alerts");
        },
      },
      Object.keys(FILTERS).map((k) =>
        h("option", { value: k, selected: state.filter === k }, t(`filter.${k}`)),
      ),
    ),
    h("small", { class: "muted" }, ` (${t("filter.pinned")})`),
  );
  fill(
    root,
    h("div", { class: "queue-head" }, h("h2", {}, t("alerts.title"), ` (${unackedCount()})`), filter),
    alerts.length
      ? h("ul", { id: "alert-list", class: "alert-list" }, alerts.map(card))
      : h("p", { class: "empty" }, t("alerts.none")),
  );
}

function planSteps(alert) {
  const steps = state.plans[alert.type] ?? [];
  if (!steps.length) return null;
  const done = new Map((alert.steps ?? []).map((s) => [s.step, s]));
  return h(
    "section",
    { class: "plan" },
    h("h3", {}, t("alert.plan")),
    h(
      "ol",
      {},
      steps.map((s) => {
        const ticked = done.get(s.step);
        return h(
          "li",
          {},
          h(
            "label",
            { class: ticked ? "done" : "" },
            h("input", {
              type: "checkbox",
              name: "step",
              value: s.step,
              checked: Boolean(ticked),
              disabled: Boolean(ticked),
              onchange: (ev) => act(alert, `/api/v1/alerts/${enc(alert.id)}/steps`, { step: s.step }, ev.target),
            }),
            " ",
            currentLang() === "en" ? s.en : s.zh,
            ticked ? h("small", { class: "muted" }, ` — ${who(ticked.by)} ${clock(ticked.at)}`) : null,
          ),
        );
      }),
    ),
  );
}

const enc = encodeURIComponent;

async function act(alert, path, body, control) {
  const panel = document.getElementById("alert-error");
  if (control) control.disabled = true;
  try {
    const changedAlert = await post(path, body);
    if (changedAlert?.id) takeAlert(changedAlert);
    if (panel) fill(panel);
    changed("alerts");
    return true;
  } catch (err) {
    if (control) control.disabled = false;
    if (control?.type === "checkbox") control.checked = false;
    if (panel) fill(panel, t("alert.failed", { e: err.message }));
    return false;
  }
}

// Notes being typed, by alert: an update of the alert redraws its panel, not the watcher's words.
const drafts = new Map();

function resolveForm(alert) {
  const note = h("textarea", {
    id: "resolve-note",
    name: "note",
    rows: "2",
    maxlength: "2000",
    placeholder: t("alert.note"),
    oninput: (ev) => drafts.set(alert.id, ev.target.value),
  });
  note.value = drafts.get(alert.id) ?? "";
  return h(
    "form",
    {
      class: "resolve",
      novalidate: true,
      onsubmit: async (ev) => {
        ev.preventDefault();
        const text = note.value.trim();
        if (!text) {
          fill(document.getElementById("alert-error"), t("alert.noteRequired"));
          note.focus();
          return;
        }
        const button = ev.target.querySelector("button");
        if (await act(alert, `/api/v1/alerts/${enc(alert.id)}/resolve`, { note: text }, button)) {
          drafts.delete(alert.id);
          state.selected = null;
          changed("selected");
        }
      },
    },
    h("label", { for: "resolve-note" }, t("alert.note")),
    note,
    h("button", { type: "submit", class: "btn", id: "resolve" }, t("alert.resolve")),
  );
}

async function history(alert, root) {
  try {
    const detail = await get(`/api/v1/alerts/${enc(alert.id)}`);
    fill(
      root,
      h("h3", {}, t("alert.history")),
      h(
        "ul",
        { class: "history" },
        (detail.history ?? []).map((x) =>
          h(
            "li",
            {},
            h("span", { class: "muted" }, clock(x.at)),
            " ",
            tOr("act", x.action),
            x.by ? ` · ${who(x.by)}` : "",
            x.via ? ` · ${x.via}` : "",
            x.note ? h("div", { class: "note" }, x.note) : null,
          ),
        ),
      ),
    );
  } catch (err) {
    fill(root, t("error.load", { e: err.message }));
  }
}

/** The selected alert's panel, into `root`. */
export function renderDetail(root) {
  const alert = state.alerts.get(state.selected);
  if (!alert) {
    fill(root, h("p", { class: "empty" }, t("alert.pick")));
    return;
  }
  const snapshot = localPath(alert.snapshot);
  const hist = h("section", { class: "history-box" });
  fill(
    root,
    h(
      "div",
      { class: `detail-head sev-${alert.severity}` },
      badge(alert),
      h("h2", {}, typeName(alert.type)),
      h("span", { class: `status status-${alert.status}` }, t(`status.${alert.status}`)),
      vulnBadge(alert.vulnerable),
    ),
    h("p", { class: "detail-address" }, alert.address ?? alert.household),
    h("p", { class: "detail-message" }, alert.message),
    h(
      "p",
      { class: "muted" },
      clock(alert.raised_at),
      " · ",
      h("a", { href: `#/household/${enc(alert.household)}` }, t("alert.household")),
      alert.recipients?.length ? ` · ${t("alert.recipients")}: ${alert.recipients.map(who).join(", ")}` : "",
    ),
    alert.acked_by
      ? h("p", { class: "acked-by" }, t("alert.ackedBy", { who: who(alert.acked_by), at: clock(alert.acked_at) }))
      : null,
    snapshot ? h("img", { class: "snapshot", src: snapshot, alt: t("alert.snapshot") }) : null,
    h("p", { id: "alert-error", class: "error", role: "alert" }),
    isUnacked(alert)
      ? h(
          "button",
          {
            type: "button",
            class: "btn primary",
            id: "ack",
            onclick: (ev) => act(alert, `/api/v1/alerts/${enc(alert.id)}/ack`, {}, ev.target),
          },
          t("alert.ack"),
        )
      : null,
    planSteps(alert),
    resolveForm(alert),
    hist,
  );
  history(alert, hist);
}

/** The banner of open critical alerts shown above every view. */
export function renderBanner(root) {
  const critical = sortedAlerts().filter((a) => a.severity === "critical" && isUnacked(a));
  root.hidden = critical.length === 0;
  if (!critical.length) return fill(root);
  fill(
    root,
    h("strong", {}, t("banner.critical", { n: critical.length })),
    h(
      "ul",
      {},
      critical.slice(0, 5).map((a) =>
        h(
          "li",
          {},
          h(
            "a",
            {
              href: "#/alerts",
              onclick: () => select(a.id),
            },
            `${clock(a.raised_at)} ${typeName(a.type)} · `,
            a.address ?? a.household,
          ),
        ),
      ),
      critical.length > 5 ? h("li", {}, `+${critical.length - 5}`) : null,
    ),
  );
}
