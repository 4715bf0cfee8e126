// The duty console: login, the views (#/alerts, #/households, #/household/<id>, #/tasks,
// #/release[/<id>], #/roster, #/tech, #/daily[/<day>]), the live stream and the alarm. Plain ES
// modules, no build step, no framework.

import { Alarm } from "./js/alarm.js";
import { renderBanner, renderDetail, renderQueue } from "./js/alerts.js";
import * as api from "./js/api.js";
import { careMessage, loadTasks, renderFeed, renderTasks, resetCare } from "./js/care.js";
import { renderDaily } from "./js/daily.js";
import { fill, h } from "./js/dom.js";
import { loadHouseholds, renderGrid, renderHousehold, takeEvent } from "./js/households.js";
import { onLangChange, setLang, currentLang, t, translatePage } from "./js/i18n.js";
import { renderRelease } from "./js/release.js";
import { loadRoster, renderRoster } from "./js/roster.js";
import { changed, isLoud, state, subscribe, takeAlert, unackedCount } from "./js/state.js";
import { Stream } from "./js/stream.js";
import { leaveTech, renderTech, techEvent } from "./js/tech.js";

const $ = (id) => document.getElementById(id);
const view = $("view");
let current = null; // the view shown: {name, arg}
let detailKey = null; // what the alert panel shows, so a re-render keeps a note being typed
let queueRoot = null;
let detailRoot = null;
let gridDirty = false;

const alarm = new Alarm(drawAlarm);
const stream = new Stream({
  onMessage,
  onState: (s) => {
    const el = $("conn");
    el.dataset.state = s;
    el.textContent = t(`conn.${s}`);
  },
  onDenied: () => checkSession(),
});

// ---- login and session -------------------------------------------------------------------

function showLogin(messageKey = null, vars = {}) {
  stream.stop();
  alarm.stop();
  state.alerts.clear();
  state.households.clear();
  resetCare();
  document.body.dataset.view = "login";
  $("app").hidden = true;
  $("login-screen").hidden = false;
  const msg = $("login-message");
  msg.hidden = !messageKey;
  msg.textContent = messageKey ? t(messageKey, vars) : "";
  $("token").value = "";
  $("token").focus();
}

async function loadAlerts() {
  let alerts;
  try {
    alerts = await api.get("/api/v1/alerts?status=unresolved&limit=1000");
  } catch (err) {
    if (err.status !== 422) throw err;
    alerts = await api.get("/api/v1/alerts?limit=1000"); // a gateway without ?status=unresolved
  }
  // Newest change last, so the stream resumes after the newest one seen.
  alerts.sort((a, b) => (a.updated_at || "").localeCompare(b.updated_at || ""));
  for (const a of alerts) takeAlert(a);
  if (alerts.length) stream.saw(alerts[alerts.length - 1]);
}

async function enter(session) {
  $("login-screen").hidden = true;
  $("app").hidden = false;
  document.body.dataset.role = session.role;
  fill($("who"), h("span", { title: t(`role.${session.role}`) }, session.name, " · ", t(`role.${session.role}`)));
  const loads = [
    loadAlerts(),
    api.get("/api/v1/plans").then((p) => (state.plans = p)),
    loadHouseholds(),
    loadRoster(),
    loadTasks(),
  ];
  stream.start();
  const failed = (await Promise.allSettled(loads)).filter((r) => r.status === "rejected");
  for (const f of failed) console.warn("console: a load failed", f.reason);
  changed("alerts");
  route();
}

async function checkSession() {
  try {
    if (!(await api.resume())) showLogin("login.expired");
  } catch {
    // The gateway is unreachable; the stream keeps trying and shows "reconnecting".
  }
}

$("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  alarm.unlock(); // a click: browsers let the alarm sound from now on
  const input = $("token");
  const token = input.value.trim();
  input.value = "";
  if (!token) return;
  const button = ev.target.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await enter(await api.login(token));
  } catch (err) {
    const msg = $("login-message");
    msg.hidden = false;
    if (err.status === 401) msg.textContent = t("login.wrong");
    else if (err.status === 429) msg.textContent = t("login.slow", { s: err.retryAfter ?? "60" });
    else msg.textContent = t("login.error", { e: err.message });
  } finally {
    button.disabled = false;
  }
});

$("logout").addEventListener("click", async () => {
  try {
    await api.logout();
  } finally {
    showLogin("login.out");
  }
});

api.whenExpired(() => showLogin("login.expired"));

// ---- the stream --------------------------------------------------------------------------

function onMessage(msg) {
  if (msg.kind === "alert" && msg.alert) {
    const fresh = takeAlert(msg.alert);
    changed("alerts");
    if (fresh) alarm.set(true, true);
  } else if (msg.kind === "event") {
    if (takeEvent(msg)) gridDirty = true;
    techEvent(msg);
  } else if (msg.kind === "care") {
    careMessage(msg); // an info line, never an alert
  }
}

// Device events come in bursts; the grid is redrawn at most once a second for them.
setInterval(() => {
  if (gridDirty && current?.name === "households") renderGrid(view);
  gridDirty = false;
}, 1000);

// ---- the alarm and the top bar -----------------------------------------------------------

function drawAlarm(s) {
  const mute = $("mute");
  mute.textContent = s.mutedFor ? t("mute.left", { s: s.mutedFor }) : t("mute.on");
  mute.disabled = !s.ringing;
  mute.classList.toggle("active", s.mutedFor > 0);
  const enable = $("sound-enable");
  enable.hidden = !s.needsGesture;
  enable.textContent = t("sound.enable");
}

$("mute").addEventListener("click", () => alarm.mute());
$("sound-enable").addEventListener("click", () => alarm.unlock());
// Any click or key wakes the audio context a reload left suspended.
document.addEventListener("pointerdown", () => alarm.ctx?.state === "suspended" && alarm.unlock());

function drawTop() {
  const n = unackedCount();
  const badge = $("unacked");
  badge.textContent = String(n);
  badge.dataset.count = String(n);
  badge.title = t("unacked.title");
  badge.classList.toggle("zero", n === 0);
  document.title = `${n ? `(${n}) ` : ""}${t("app.title")} · isogate`;
  renderBanner($("critical-banner"));
  alarm.set([...state.alerts.values()].some(isLoud));
}

// ---- views -------------------------------------------------------------------------------

function renderAlertsView() {
  queueRoot = h("section", { class: "queue" });
  detailRoot = h("section", { class: "detail panel", id: "alert-detail" });
  detailKey = null;
  const feed = h("section", { class: "panel care-feed", id: "care-feed" });
  fill(view, h("div", { class: "alerts-view" }, h("div", {}, feed, queueRoot), detailRoot));
  renderFeed(feed);
  drawAlerts();
}

function drawAlerts() {
  if (current?.name !== "alerts" || !queueRoot) return;
  renderQueue(queueRoot);
  const a = state.alerts.get(state.selected);
  const key = a ? `${a.id}|${a.updated_at}|${a.status}|${(a.steps ?? []).length}|${currentLang()}` : `none|${currentLang()}`;
  if (key !== detailKey) {
    const picked = a && !detailKey?.startsWith(`${a.id}|`);
    detailKey = key;
    renderDetail(detailRoot);
    // On a phone the panel is below the queue: bring the picked alert's panel into view.
    if (picked && window.matchMedia("(max-width: 760px)").matches) detailRoot.scrollIntoView();
  }
}

function route() {
  if ($("app").hidden) return;
  const [, name = "alerts", arg = null] = location.hash.match(/^#\/([\w-]+)(?:\/(.+))?$/) ?? [];
  if (current?.name === "tech" && name !== "tech") leaveTech();
  current = { name, arg: arg && decodeURIComponent(arg) };
  document.body.dataset.view = name;
  for (const a of document.querySelectorAll("[data-tab]")) {
    a.classList.toggle("active", a.dataset.tab === (name === "household" ? "households" : name));
  }
  if (name === "households") {
    renderGrid(view);
    loadHouseholds().then(() => current?.name === "households" && renderGrid(view), () => {});
  }
  else if (name === "household") renderHousehold(view, current.arg);
  else if (name === "tasks") renderTasks(view);
  else if (name === "release") renderRelease(view, current.arg);
  else if (name === "roster") renderRoster(view);
  else if (name === "tech") renderTech(view);
  else if (name === "daily") renderDaily(view, current.arg);
  else {
    current.name = "alerts";
    renderAlertsView();
  }
}

subscribe((what) => {
  if (what === "alerts" || what === "selected") {
    drawTop();
    drawAlerts();
  }
  if (what === "names") drawAlerts();
});

window.addEventListener("hashchange", route);
for (const b of document.querySelectorAll(".lang-switch")) {
  b.addEventListener("click", () => setLang(currentLang() === "zh" ? "en" : "zh"));
}
onLangChange(() => {
  if (!$("app").hidden) {
    const s = api.currentSession();
    if (s) fill($("who"), s.name, " · ", t(`role.${s.role}`));
    detailKey = null;
    drawTop();
    drawAlarm(alarm.state());
    $("conn").textContent = t(`conn.${$("conn").dataset.state}`);
    route();
  }
});

// For tests and for a watcher's "reconnect now": cut the stream (it comes back by itself).
window.isogateConsole = { cutStream: () => stream.cut(), alarm };

translatePage();
drawAlarm(alarm.state());
try {
  const session = await api.resume();
  if (session) await enter(session);
  else showLogin();
} catch (err) {
  showLogin("login.error", { e: err.message });
}
