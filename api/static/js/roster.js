// The roster (who is on duty now and next, and the coverage gaps) and the shift handover: the
// incoming watcher sees the open alerts handed over and accepts them by name.

import { currentSession, get, post } from "./api.js";
import { typeName } from "./alerts.js";
import { fill, h } from "./dom.js";
import { clock, t } from "./i18n.js";
import { changed, isUnacked, state, who } from "./state.js";

const enc = encodeURIComponent;

function scope(households) {
  return households === "all" || households == null ? t("roster.all") : households.join(", ");
}

/** Learn the watchers' names from the roster, for "accepted by 李伟 (w1)". */
export async function loadRoster() {
  const roster = await get("/api/v1/roster");
  for (const x of [...(roster.now ?? []), ...(roster.next ?? [])]) {
    if (x.watcher && x.name) state.names.set(x.watcher, x.name);
  }
  changed("names");
  return roster;
}

function people(list, when) {
  if (!list?.length) return h("p", { class: "empty" }, t("roster.nobody"));
  return h(
    "ul",
    { class: "people" },
    list.map((x) =>
      h("li", {}, h("strong", {}, who(x.watcher)), ` · ${scope(x.households)} · `, when(x)),
    ),
  );
}

function rosterPanel(roster) {
  return h(
    "section",
    { class: "panel", id: "roster" },
    h("h2", {}, t("roster.title")),
    h("h3", {}, t("roster.now")),
    people(roster.now, (x) => t("roster.until", { t: clock(x.until) })),
    h("h3", {}, t("roster.next")),
    people(roster.next, (x) => t("roster.from", { t: clock(x.from) })),
    h("h3", {}, t("roster.gaps")),
    roster.gaps?.length
      ? h(
          "ul",
          { class: "gaps" },
          roster.gaps.map((g) => h("li", { class: "gap" }, `${g.household}: ${clock(g.from)} – ${clock(g.to)}`)),
        )
      : h("p", { class: "empty" }, t("roster.noGaps")),
  );
}

function mayAccept(handover) {
  const me = currentSession();
  if (!me) return false;
  if ((handover.accepted ?? []).some((a) => a.by === me.name)) return false;
  return (handover.to ?? []).includes(me.name) || me.role === "supervisor" || me.role === "admin";
}

function handoverPanel(handover, rerender) {
  const accepted = handover.accepted ?? [];
  const error = h("p", { class: "error", role: "alert" });
  return h(
    "section",
    { class: "panel", id: "handover", dataset: { id: handover.id } },
    h("h2", {}, t("handover.title")),
    h("p", { class: "muted" }, t("handover.at", { t: clock(handover.at) })),
    h(
      "p",
      {},
      `${t("handover.from")}: `,
      (handover.from ?? []).map(who).join(", ") || t("roster.nobody"),
      ` → ${t("handover.to")}: `,
      (handover.to ?? []).map(who).join(", ") || t("roster.nobody"),
    ),
    h("h3", {}, t("handover.open")),
    handover.open_alerts?.length
      ? h(
          "ul",
          { class: "alert-list compact" },
          handover.open_alerts.map((a) =>
            h(
              "li",
              { class: `alert sev-${a.severity}${isUnacked(a) ? " unacked" : " acked"}` },
              h("span", { class: `sev sev-${a.severity}` }, t(`sev.${a.severity}`)),
              " ",
              h("strong", {}, typeName(a.type)),
              " · ",
              a.address ?? a.household,
              " · ",
              h("span", { class: `status status-${a.status}` }, t(`status.${a.status}`)),
            ),
          ),
        )
      : h("p", { class: "empty" }, t("handover.noOpen")),
    h(
      "ul",
      { class: "accepted", id: "handover-accepted" },
      accepted.length
        ? accepted.map((a) => h("li", { class: "ok" }, t("handover.accepted", { who: who(a.by), at: clock(a.at) })))
        : h("li", { class: "muted" }, t("handover.pending")),
    ),
    handover.escalated_at ? h("p", { class: "error" }, t("handover.escalated", { t: clock(handover.escalated_at) })) : null,
    error,
    mayAccept(handover)
      ? h(
          "button",
          {
            type: "button",
            class: "btn primary",
            id: "accept-handover",
            onclick: async (ev) => {
              ev.target.disabled = true;
              try {
                rerender(await post(`/api/v1/handover/${enc(handover.id)}/accept`, {}));
              } catch (err) {
                ev.target.disabled = false;
                fill(error, t("alert.failed", { e: err.message }));
              }
            },
          },
          t("handover.accept"),
        )
      : null,
  );
}

export async function renderRoster(root) {
  const left = h("div", { class: "col" });
  const right = h("div", { class: "col" });
  fill(root, h("div", { class: "two-col" }, left, right));
  try {
    fill(left, rosterPanel(await loadRoster()));
  } catch (err) {
    fill(left, h("p", { class: "error" }, t("error.load", { e: err.message })));
  }
  const show = (handover) => fill(right, handoverPanel(handover, show));
  try {
    show(await get("/api/v1/handover"));
  } catch (err) {
    fill(
      right,
      h(
        "section",
        { class: "panel", id: "handover" },
        h("h2", {}, t("handover.title")),
        h("p", { class: err.status === 404 ? "empty" : "error" }, err.status === 404 ? t("handover.none") : t("error.load", { e: err.message })),
      ),
    );
  }
}
