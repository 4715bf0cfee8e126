// The release view (解除隔离): the households whose period ended, and for the one picked its
// temperature log, the sign-offs in their order (doctor, officer, cadre, control staff) with who
// signed when, what blocks the doctor, and the button of the sign-off due next — enabled only
// for the person who may give it. Released households link to their release report.

import { get, post } from "./api.js";
import { typeName } from "./alerts.js";
import { learnName, onCare } from "./care.js";
import { fill, h } from "./dom.js";
import { clock, t } from "./i18n.js";
import { state, subscribe } from "./state.js";
import { renderLog } from "./templog.js";

const enc = encodeURIComponent;

let listRoot = null;
let detailRoot = null;
let shown = null; // the household whose detail is shown
let alertKey = ""; // its alerts as last drawn: a change reloads the detail
const notes = new Map(); // a remark being typed, by household

const showing = () => document.body.dataset.view === "release" && detailRoot?.isConnected;

function roleName(role) {
  return t(`role.sign.${role}`);
}

async function loadList() {
  let data;
  try {
    data = await get("/api/v1/release/due");
  } catch (err) {
    fill(listRoot, h("p", { class: "error" }, t("error.load", { e: err.message })));
    return;
  }
  if (!showing()) return;
  for (const r of data.released) learnName(r.seal_removed_by, r.seal_removed_by_name);
  fill(
    listRoot,
    h(
      "section",
      { class: "panel", id: "release-due" },
      h("h2", {}, t("release.title"), ` (${data.due.length})`),
      data.due.length
        ? h(
            "ul",
            { class: "release-list" },
            data.due.map((d) =>
              h(
                "li",
                {},
                h(
                  "a",
                  {
                    class: `release-item${d.household === shown ? " selected" : ""}`,
                    href: `#/release/${enc(d.household)}`,
                    dataset: { household: d.household },
                  },
                  h("strong", {}, d.address),
                  h(
                    "div",
                    { class: "muted" },
                    t("release.periodEnd", { t: clock(d.period_end) }),
                    " · ",
                    t("release.signed", { n: d.signed.length }),
                    d.next ? ` · ${t("release.waiting")}: ${roleName(d.next)}` : "",
                  ),
                  d.open_alerts ? h("span", { class: "badge bad" }, t("release.openAlerts", { n: d.open_alerts })) : null,
                ),
              ),
            ),
          )
        : h("p", { class: "empty" }, t("release.none")),
    ),
    h(
      "section",
      { class: "panel", id: "released" },
      h("h3", {}, t("release.released")),
      data.released.length
        ? h(
            "table",
            { class: "table", id: "released-list" },
            h("tbody", {}, data.released.map((r) =>
              h(
                "tr",
                { dataset: { household: r.household } },
                h("td", {}, h("a", { href: `#/release/${enc(r.household)}` }, r.address)),
                h("td", { class: "muted" }, clock(r.released_at)),
                h(
                  "td",
                  {},
                  h("a", { href: r.report, target: "_blank", rel: "noopener", class: "report-link" }, t("release.report")),
                  r.archived ? h("small", { class: "ok" }, ` ${t("release.archived")}`) : null,
                ),
              ),
            )),
          )
        : h("p", { class: "empty" }, t("release.noneReleased")),
    ),
  );
}

function sequence(s) {
  return h(
    "ol",
    { class: "signoffs", id: "signoffs" },
    s.sequence.map((step) => {
      const signed = step.signed;
      const cls = signed ? "signed" : step.role === s.next ? "next" : "waiting";
      return h(
        "li",
        { class: cls, dataset: { role: step.role } },
        h("strong", {}, roleName(step.role)),
        " ",
        h("span", { class: "muted" }, step.names.join("、")),
        h(
          "div",
          { class: "signoff-state" },
          signed
            ? [t("release.signedBy", { who: signed.by_name ?? signed.by, at: clock(signed.at) }), signed.note ? h("div", { class: "note" }, signed.note) : null]
            : t("release.waiting"),
        ),
      );
    }),
  );
}

function blockers(s) {
  if (!s.blocked.length) return null;
  return h(
    "div",
    { class: "blocked", id: "release-blocked" },
    h("strong", {}, t("release.blocked")),
    h(
      "ul",
      {},
      s.blocked.map((b) =>
        h(
          "li",
          { dataset: { alert: b.alert } },
          h("a", { href: "#/alerts", onclick: () => { state.selected = b.alert; } }, typeName(b.type)),
          ` · ${t(`status.${b.status}`)} · ${clock(b.raised_at)}`,
          h("div", { class: "note" }, t(`release.why.${b.why}`)),
        ),
      ),
    ),
  );
}

function signForm(s) {
  if (s.released || !s.next) return null;
  const message = h("p", { class: "error", role: "alert", id: "sign-error" });
  const note = h("textarea", {
    id: "signoff-note",
    rows: "2",
    maxlength: "2000",
    placeholder: t("release.note"),
    oninput: (ev) => notes.set(s.household, ev.target.value),
  });
  note.value = notes.get(s.household) ?? "";
  const step = s.sequence.find((x) => x.role === s.next);
  return h(
    "form",
    {
      class: "resolve sign",
      onsubmit: async (ev) => {
        ev.preventDefault();
        const button = ev.target.querySelector("button");
        button.disabled = true;
        try {
          const answer = await post(`/api/v1/households/${enc(s.household)}/signoffs`, { role: s.next, note: note.value.trim() || null });
          notes.delete(s.household);
          loadDetail(s.household, answer.released ? t("release.releasedOk") : t("release.signedOk"));
          loadList();
        } catch (err) {
          button.disabled = false;
          fill(message, t("alert.failed", { e: err.message }));
        }
      },
    },
    note,
    h("button", { type: "submit", class: "btn primary", id: "sign", disabled: !s.may_sign, dataset: { role: s.next } }, t("release.sign", { role: roleName(s.next) })),
    !s.release_due ? h("p", { class: "muted" }, t("release.notDue")) : null,
    s.release_due && !s.may_sign && !(s.next === "doctor" && s.blocked.length)
      ? h("p", { class: "muted", id: "sign-waiting" }, t("release.notYours", { role: roleName(s.next), names: step?.names.join("、") ?? "" }))
      : null,
    message,
  );
}

function keyOf(household) {
  return [...state.alerts.values()]
    .filter((a) => a.household === household)
    .map((a) => `${a.id}:${a.status}`)
    .sort()
    .join(",");
}

async function loadDetail(household, said = null) {
  let s;
  let log;
  try {
    [s, log] = await Promise.all([
      get(`/api/v1/households/${enc(household)}/signoffs`),
      get(`/api/v1/households/${enc(household)}/temperature-log`),
    ]);
  } catch (err) {
    if (showing() && shown === household) fill(detailRoot, h("p", { class: "error", id: "release-error" }, t("error.load", { e: err.message })));
    return;
  }
  if (!showing() || shown !== household) return;
  alertKey = keyOf(household);
  const logRoot = h("section", { class: "log", id: "log" });
  fill(
    detailRoot,
    h("h2", { id: "release-address" }, s.address),
    h("p", { class: "muted" }, t("release.period", { from: clock(s.period_start), to: clock(s.period_end) })),
    s.released
      ? h(
          "p",
          { class: "ok released", id: "release-done" },
          t("release.done", { t: clock(s.released_at) }),
          " · ",
          h("a", { href: s.report, target: "_blank", rel: "noopener", class: "report-link" }, t("release.report")),
        )
      : null,
    said ? h("p", { class: "ok", id: "sign-said", role: "status" }, said) : null,
    h("div", { class: "release-columns" }, h("div", {}, h("h3", {}, t("release.sequence")), sequence(s), blockers(s), signForm(s)), logRoot),
  );
  renderLog(logRoot, log);
}

/** The release view into `root`; `household` is the one picked (or none). */
export function renderRelease(root, household) {
  listRoot = h("div", { class: "col" }, h("p", { class: "muted" }, "…"));
  detailRoot = h("section", { class: "panel release-detail", id: "release-detail" });
  shown = household;
  fill(root, h("div", { class: "release-view" }, listRoot, detailRoot));
  loadList();
  if (household) loadDetail(household);
  else fill(detailRoot, h("p", { class: "empty" }, t("release.pick")));
}

// A sign-off anywhere changes the lists; one of the household shown, its detail.
onCare((msg) => {
  if (!showing() || msg.what !== "signoff") return;
  loadList();
  if (msg.household === shown) loadDetail(shown);
});

// An alert of the household shown raised or resolved changes what blocks the doctor.
subscribe((what) => {
  if (what !== "alerts" || !showing() || !shown) return;
  if (keyOf(shown) !== alertKey) loadDetail(shown);
});
