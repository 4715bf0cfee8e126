// A household page's paperwork: the check-in visit due or overdue, the notice (告知书) and its
// receipt, the visits with a form to enter one (escorted sampling needs an escort), the
// resident's announced openings (live), and the symptom check staff enter for a resident
// without a phone. The lists follow the stream; a form being filled in is never redrawn.

import { currentSession, get, post } from "./api.js";
import { hm, learnName, onCare } from "./care.js";
import { fill, h } from "./dom.js";
import { clock, t, tOr } from "./i18n.js";
import { who } from "./state.js";
import { vulnBadge } from "./vulnerable.js";

const enc = encodeURIComponent;
const VISIT_REASONS = ["sampling", "delivery", "checkin", "doctor", "other"];
const SYMPTOMS = ["fever", "dry_cough", "fatigue", "sore_throat", "smell_taste_loss", "diarrhea"];
const VISIT_ROLES = new Set(["watcher", "officer", "doctor", "supervisor", "admin"]);
const PREREPORTS_SHOWN = 8;

let unsubscribe = null;

/** The residents' names, each with its 重点关注 badge when flagged vulnerable. */
export function residentsLine(residents) {
  return residents.flatMap((r, i) => [i ? "、" : "", r.name ?? r, r.flags?.length ? " " : "", vulnBadge(r.flags)]);
}

const showing = (id) => document.body.dataset.view === "household" && location.hash === `#/household/${enc(id)}`;

/** A datetime-local value ("YYYY-MM-DDTHH:MM") of a Date, in the browser's (the site's) zone. */
function localInput(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function checkinBadge(c) {
  if (!c) return null;
  const text = c.overdue ? t("checkin.badgeOverdue", { at: clock(c.due) }) : t("checkin.badgeDue", { at: clock(c.due) });
  return h("span", { class: `badge ${c.overdue ? "bad" : "ok"}`, id: "checkin-badge", dataset: { overdue: String(c.overdue) } }, text);
}

function summary(root, hh, data) {
  const message = h("span", { class: "error", role: "alert" });
  const receipts = data.notice_receipts ?? [];
  const last = receipts[receipts.length - 1];
  fill(
    root,
    h(
      "div",
      { class: "care-row" },
      checkinBadge(data.checkin),
      h(
        "a",
        { class: "btn small", id: "notice-link", href: `/api/v1/households/${enc(hh.id)}/notice`, target: "_blank", rel: "noopener" },
        t("notice.open"),
      ),
      h(
        "button",
        {
          type: "button",
          class: "btn small",
          id: "notice-receipt",
          onclick: async (ev) => {
            ev.target.disabled = true;
            try {
              await post(`/api/v1/households/${enc(hh.id)}/notice/receipt`, {});
              fill(message);
              reload(hh);
            } catch (err) {
              ev.target.disabled = false;
              fill(message, t("alert.failed", { e: err.message }));
            }
          },
        },
        t("notice.receipt"),
      ),
      h("span", { class: last ? "ok" : "muted", id: "notice-status" }, last ? t("notice.received", { who: who(last.by), at: clock(last.at) }) : t("notice.notYet")),
      message,
    ),
  );
}

function visitList(root, data) {
  const visits = data.visits ?? [];
  fill(
    root,
    visits.length
      ? h(
          "table",
          { class: "table", id: "visit-list" },
          h("thead", {}, h("tr", {}, [t("col.time"), t("col.reason"), t("col.escort"), ""].map((x) => h("th", {}, x)))),
          h(
            "tbody",
            {},
            visits.map((v) =>
              h(
                "tr",
                { dataset: { reason: v.reason, source: v.source } },
                h("td", {}, `${clock(v.start)} – ${hm(v.end)}`),
                h("td", {}, tOr("visit", v.reason)),
                h("td", {}, v.escort ? who(v.escort) : ""),
                h("td", { class: "muted" }, v.source === "site" ? t("visits.site") : who(v.by)),
              ),
            ),
          ),
        )
      : h("p", { class: "empty" }, t("visits.none")),
  );
}

function visitForm(hh, data) {
  const now = new Date();
  const start = h("input", { type: "datetime-local", name: "start", required: true, value: localInput(now) });
  const end = h("input", { type: "datetime-local", name: "end", required: true, value: localInput(new Date(now.getTime() + 30 * 60e3)) });
  const reason = h("select", { name: "reason" }, VISIT_REASONS.map((r) => h("option", { value: r }, tOr("visit", r))));
  const escort = h(
    "select",
    { name: "escort" },
    h("option", { value: "" }, t("visits.noEscort")),
    (data.escorts ?? []).map((e) => h("option", { value: e.id }, `${e.name} · ${t(`role.${e.role}`)}`)),
  );
  const message = h("p", { class: "form-message", role: "status", id: "visit-message" });
  return h(
    "form",
    {
      class: "care-form",
      id: "visit-form",
      onsubmit: async (ev) => {
        ev.preventDefault();
        const button = ev.target.querySelector("button[type=submit]");
        button.disabled = true;
        try {
          const v = await post(`/api/v1/households/${enc(hh.id)}/visits`, {
            start: start.value,
            end: end.value,
            reason: reason.value,
            escort: escort.value || null,
          });
          message.className = "form-message ok";
          fill(message, t("visits.added", { reason: tOr("visit", v.reason), from: clock(v.start), until: hm(v.end) }));
          reload(hh);
        } catch (err) {
          message.className = "form-message error";
          fill(message, t("alert.failed", { e: err.message }));
        } finally {
          button.disabled = false;
        }
      },
    },
    h("label", {}, t("visits.reason"), " ", reason),
    h("label", {}, t("visits.start"), " ", start),
    h("label", {}, t("visits.end"), " ", end),
    h("label", {}, t("visits.escort"), " ", escort),
    h("button", { type: "submit", class: "btn small primary" }, t("visits.add")),
    message,
  );
}

function prereportList(root, data) {
  const list = data.prereports ?? [];
  fill(
    root,
    h("h3", {}, t("pre.title"), h("small", { class: "muted" }, ` ${t("pre.count", { n: data.prereport_count ?? 0 })}`)),
    list.length
      ? h(
          "ul",
          { class: "feed", id: "prereport-list" },
          list.slice(0, PREREPORTS_SHOWN).map((p) =>
            h("li", { class: "feed-item" }, h("span", { class: "muted" }, clock(p.start)), " ", tOr("pre", p.reason), " ", h("span", { class: "muted" }, t("pre.until", { t: hm(p.end) }))),
          ),
        )
      : h("p", { class: "empty" }, t("pre.none")),
  );
}

function symptomForm(hh) {
  const resident = h("select", { name: "resident" }, (hh.residents ?? []).map((r) => h("option", { value: r.id }, r.name)));
  const boxes = SYMPTOMS.map((s) => h("label", { class: "check" }, h("input", { type: "checkbox", name: "symptom", value: s }), " ", tOr("sym", s)));
  const message = h("p", { class: "form-message", role: "status", id: "symptom-message" });
  return h(
    "form",
    {
      class: "care-form",
      id: "symptom-form",
      onsubmit: async (ev) => {
        ev.preventDefault();
        const said = [...ev.target.querySelectorAll("input[name=symptom]:checked")].map((x) => x.value);
        const button = ev.target.querySelector("button[type=submit]");
        button.disabled = true;
        try {
          const answer = await post(`/api/v1/households/${enc(hh.id)}/symptoms`, { resident: resident.value, symptoms: said });
          const names = said.map((s) => tOr("sym", s)).join("、") || t("sym.none");
          message.className = "form-message ok";
          fill(message, answer?.alert ? t("sym.alerted", { said: names }) : t("sym.saved", { said: names }));
          for (const x of ev.target.querySelectorAll("input[name=symptom]")) x.checked = false;
        } catch (err) {
          message.className = "form-message error";
          fill(message, t("alert.failed", { e: err.message }));
        } finally {
          button.disabled = false;
        }
      },
    },
    h("label", {}, t("sym.resident"), " ", resident),
    h("div", { class: "checks" }, boxes),
    h("button", { type: "submit", class: "btn small primary" }, t("sym.submit")),
    message,
  );
}

const parts = { hh: null, summary: null, visits: null, prereports: null };

async function reload(hh) {
  let data;
  try {
    data = await get(`/api/v1/households/${enc(hh.id)}/visits`);
  } catch (err) {
    if (showing(hh.id) && parts.summary) fill(parts.summary, h("p", { class: "error" }, t("error.load", { e: err.message })));
    return null;
  }
  if (!showing(hh.id) || parts.hh !== hh.id) return null;
  for (const e of data.escorts ?? []) learnName(e.id, e.name);
  summary(parts.summary, hh, data);
  visitList(parts.visits, data);
  prereportList(parts.prereports, data);
  return data;
}

/** The household's paperwork panels: into the page's left and right columns. */
export async function householdCare(left, right, hh) {
  if (unsubscribe) unsubscribe();
  parts.hh = hh.id;
  parts.summary = h("div", { id: "care-summary" });
  parts.visits = h("div", {});
  parts.prereports = h("section", { class: "panel", id: "prereports" });
  const visitsPanel = h("section", { class: "panel", id: "visits" }, h("h3", {}, t("visits.title")), parts.visits);
  left.prepend(h("section", { class: "panel care-summary" }, parts.summary));
  left.append(visitsPanel);
  const me = currentSession();
  if ((hh.residents ?? []).length) {
    left.append(h("section", { class: "panel", id: "symptom-entry" }, h("h3", {}, t("sym.title")), symptomForm(hh)));
  }
  right.prepend(parts.prereports);
  const data = await reload(hh);
  if (data && VISIT_ROLES.has(me?.role)) visitsPanel.append(visitForm(hh, data));
  // The stream's care items of this household refresh the lists (never the forms).
  unsubscribe = onCare((msg) => {
    if (msg.household !== hh.id) return;
    if (!showing(hh.id)) {
      unsubscribe?.();
      unsubscribe = null;
      return;
    }
    reload(hh);
  });
}
