// The isolation's paperwork, live: the stream's care items (a resident's announced opening, a
// service request, a visit, a symptom check, a sign-off, a notice receipt) as info lines in the
// alert view's feed — never as alerts —; the Tasks view (the open service requests of the
// user's households, marked done with who and when, and the check-in visits due); and the hook
// the household page and the release view use to refresh on a household's care item.

import { currentSession, get, post } from "./api.js";
import { fill, h } from "./dom.js";
import { clock, t, tOr } from "./i18n.js";
import { state, who } from "./state.js";

const enc = encodeURIComponent;
const FEED_MAX = 30;
const DONE_SHOWN = 20;
const DONE_ROLES = new Set(["watcher", "supervisor", "admin"]);

const care = {
  feed: [], // stream care items, newest first
  open: [], // open service requests (ServiceOut)
  done: [], // the latest done ones
  loaded: false,
};
const listeners = new Set();
let feedRoot = null;
let tasksRoot = null;
let checkinRoot = null;

/** Forget what the session saw (at logout). */
export function resetCare() {
  care.feed = [];
  care.open = [];
  care.done = [];
  care.loaded = false;
  drawCount();
}

/** Call `fn(msg)` for every care item of the stream; returns the unsubscribe. */
export function onCare(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** A local time as HH:MM. */
export function hm(iso) {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return t("hh.unknown");
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

/** Learn staff names the API tells (escorts, who signed, who did a task) for who(). */
export function learnName(id, name) {
  if (id && name && !state.names.has(id)) state.names.set(id, name);
}

const addressOf = (hid) => state.households.get(hid)?.address ?? hid;

/** What a care item says, in one line. */
export function feedText(msg) {
  const d = msg.data ?? {};
  const addr = addressOf(msg.household);
  switch (msg.what) {
    case "prereport":
      return t("feed.prereport", { addr, reason: tOr("pre", d.reason), until: hm(d.end) });
    case "service":
      return d.done_at
        ? t("feed.serviceDone", { addr, kind: tOr("svc", d.kind), who: who(d.done_by) })
        : t("feed.service", { addr, kind: tOr("svc", d.kind) });
    case "visit":
      return t("feed.visit", { addr, reason: tOr("visit", d.reason), from: hm(d.start), until: hm(d.end) });
    case "signoff":
      return d.released
        ? t("feed.released", { addr })
        : t("feed.signoff", { addr, role: t(`role.sign.${d.role}`), who: who(d.by) });
    case "receipt":
      return t("feed.receipt", { addr });
    case "symptoms": {
      const said = (d.symptoms ?? []).map((s) => tOr("sym", s)).join("、");
      return t("feed.symptoms", { addr, said: said || t("feed.none") });
    }
    default:
      return `${addr} ${msg.what}`;
  }
}

/** A care item of the stream: into the feed, to the views that listen, and the tasks. */
export function careMessage(msg) {
  care.feed.unshift(msg);
  care.feed.length = Math.min(care.feed.length, FEED_MAX);
  if (feedRoot?.isConnected) drawFeed(feedRoot);
  for (const fn of listeners) fn(msg);
  if (msg.what === "service") loadTasks().catch(() => {});
}

/** The feed of care items, into `root` (hidden while there is none). */
export function renderFeed(root) {
  feedRoot = root;
  drawFeed(root);
}

function drawFeed(root) {
  root.hidden = care.feed.length === 0;
  fill(
    root,
    h("h3", {}, t("feed.title")),
    h(
      "ul",
      { class: "feed", id: "care-feed-list" },
      care.feed.slice(0, 8).map((m) =>
        h(
          "li",
          { class: `feed-item feed-${m.what}`, dataset: { household: m.household, what: m.what } },
          h("span", { class: "sev sev-info" }, t("feed.tag")),
          " ",
          h("span", { class: "muted" }, clock(m.ts)),
          " ",
          h("a", { href: `#/household/${enc(m.household)}` }, feedText(m)),
        ),
      ),
    ),
  );
}

// ---- the Tasks view ----------------------------------------------------------------------

/** The open service requests (and the latest done ones) of the user's households. */
export async function loadTasks() {
  const [open, all] = await Promise.all([
    get("/api/v1/services?open=true"),
    tasksRoot?.isConnected ? get("/api/v1/services?limit=100") : Promise.resolve(null),
  ]);
  care.open = open;
  if (all) care.done = all.filter((x) => x.done_at).slice(0, DONE_SHOWN);
  care.loaded = true;
  for (const x of [...open, ...care.done]) learnName(x.done_by, x.done_by_name);
  drawCount();
  if (tasksRoot?.isConnected) drawTasks(tasksRoot);
}

function drawCount() {
  const el = document.getElementById("tasks-count");
  if (!el) return;
  el.textContent = String(care.open.length);
  el.hidden = care.open.length === 0;
}

function mine(task) {
  const me = currentSession();
  return me?.role === "watcher" && (task.watchers ?? []).includes(me.name);
}

async function complete(task, button, message) {
  button.disabled = true;
  try {
    const done = await post(`/api/v1/services/${enc(task.id)}/done`, {});
    learnName(done.done_by, done.done_by_name);
    care.open = care.open.filter((x) => x.id !== done.id);
    care.done = [done, ...care.done.filter((x) => x.id !== done.id)].slice(0, DONE_SHOWN);
    drawCount();
    drawTasks(tasksRoot);
  } catch (err) {
    button.disabled = false;
    fill(message, t("alert.failed", { e: err.message }));
  }
}

function taskRow(task, mayComplete, message) {
  return h(
    "tr",
    { class: mine(task) ? "task mine" : "task", dataset: { id: task.id, household: task.household } },
    h("td", {}, h("strong", {}, tOr("svc", task.kind))),
    h("td", {}, h("a", { href: `#/household/${enc(task.household)}` }, task.address)),
    h("td", { class: "muted" }, clock(task.requested_at)),
    h("td", { class: "note" }, task.note ?? ""),
    h(
      "td",
      {},
      (task.watchers ?? []).map(who).join("、"),
      mine(task) ? h("span", { class: "tag mine" }, t("tasks.mine")) : null,
    ),
    h(
      "td",
      {},
      mayComplete
        ? h(
            "button",
            { type: "button", class: "btn small primary complete", onclick: (ev) => complete(task, ev.target, message) },
            t("tasks.complete"),
          )
        : null,
    ),
  );
}

function drawTasks(root) {
  const me = currentSession();
  const mayComplete = DONE_ROLES.has(me?.role);
  const message = h("p", { class: "error", role: "alert", id: "tasks-error" });
  fill(
    root,
    h(
      "section",
      { class: "panel", id: "tasks" },
      h("h2", {}, t("tasks.title"), ` (${care.open.length})`),
      message,
      care.open.length
        ? h(
            "table",
            { class: "table", id: "task-list" },
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                [t("col.kind"), t("col.address"), t("col.requested"), t("col.note"), t("tasks.onDuty"), ""].map((x) =>
                  h("th", {}, x),
                ),
              ),
            ),
            h("tbody", {}, care.open.map((x) => taskRow(x, mayComplete, message))),
          )
        : h("p", { class: "empty" }, care.loaded ? t("tasks.none") : "…"),
    ),
    h(
      "section",
      { class: "panel", id: "tasks-done" },
      h("h3", {}, t("tasks.done")),
      care.done.length
        ? h(
            "table",
            { class: "table", id: "done-list" },
            h("thead", {}, h("tr", {}, [t("col.kind"), t("col.address"), t("col.doneBy"), t("col.doneAt")].map((x) => h("th", {}, x)))),
            h(
              "tbody",
              {},
              care.done.map((x) =>
                h(
                  "tr",
                  { class: "done", dataset: { id: x.id } },
                  h("td", {}, tOr("svc", x.kind)),
                  h("td", {}, x.address),
                  h("td", {}, who(x.done_by)),
                  h("td", {}, clock(x.done_at)),
                ),
              ),
            ),
          )
        : h("p", { class: "empty" }, t("tasks.noneDone")),
    ),
  );
}

async function drawCheckins(root) {
  let due;
  try {
    due = await get("/api/v1/visits/due");
  } catch (err) {
    fill(root, h("p", { class: "error" }, t("error.load", { e: err.message })));
    return;
  }
  if (!root.isConnected) return;
  fill(
    root,
    h("h2", {}, t("checkin.title")),
    due.length
      ? h(
          "table",
          { class: "table", id: "checkins" },
          h("thead", {}, h("tr", {}, [t("col.address"), t("checkin.last"), t("checkin.due"), ""].map((x) => h("th", {}, x)))),
          h(
            "tbody",
            {},
            due.map((c) =>
              h(
                "tr",
                { class: c.overdue ? "overdue" : "", dataset: { household: c.household } },
                h("td", {}, h("a", { href: `#/household/${enc(c.household)}` }, c.address)),
                h("td", { class: "muted" }, c.last ? clock(c.last) : t("checkin.never")),
                h("td", {}, clock(c.due)),
                h("td", {}, h("span", { class: `badge ${c.overdue ? "bad" : "ok"}` }, c.overdue ? t("checkin.overdue") : t("checkin.ok"))),
              ),
            ),
          ),
        )
      : h("p", { class: "empty" }, t("checkin.none")),
  );
}

/** The Tasks view into `root`: the service tasks and the check-in visits due. */
export function renderTasks(root) {
  tasksRoot = h("div", { class: "col" });
  checkinRoot = h("section", { class: "panel", id: "checkin-panel" }, h("p", { class: "muted" }, "…"));
  fill(root, h("div", { class: "two-col tasks-view" }, tasksRoot, h("div", { class: "col" }, checkinRoot)));
  drawTasks(tasksRoot);
  loadTasks().catch((err) => fill(tasksRoot, h("p", { class: "error" }, t("error.load", { e: err.message }))));
  drawCheckins(checkinRoot);
}

// A visit entered anywhere may be a check-in: the list of those due follows it.
onCare((msg) => {
  if (msg.what === "visit" && checkinRoot?.isConnected) drawCheckins(checkinRoot);
});
