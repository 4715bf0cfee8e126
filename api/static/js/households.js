// The household grid of the user's scope, and one household's page: devices, open alerts
// (acknowledged ones too), the temperature chart and the 48-hour timeline.

import { get } from "./api.js";
import { typeName } from "./alerts.js";
import { temperatureChart } from "./chart.js";
import { fill, h, localPath } from "./dom.js";
import { householdCare, residentsLine } from "./household-care.js";
import { ago, clock, t, tOr } from "./i18n.js";
import { changed, isUnacked, SEVERITY_RANK, state, who } from "./state.js";

const enc = encodeURIComponent;

/** Load the grid's data into the state (and the staff names it tells). */
export async function loadHouseholds() {
  const list = await get("/api/v1/households");
  state.households = new Map(list.map((x) => [x.id, x]));
  changed("households");
}

/** A stream event of a household's device: keep the grid's door and temperature current. */
export function takeEvent(msg) {
  const hh = state.households.get(msg.household);
  if (!hh) return false;
  const data = msg.data ?? {};
  if (msg.event === "door" && typeof data.open === "boolean") {
    hh.door_open = data.open;
    hh.door_at = msg.ts;
  }
  if (msg.event === "temperature" && typeof data.celsius === "number") {
    hh.last_celsius = data.celsius;
    hh.last_celsius_at = msg.ts;
  }
  const dev = (hh.devices ?? []).find((d) => d.id === msg.device);
  if (dev) {
    dev.last_seen = msg.ts;
    if (msg.event === "status" && typeof data.online === "boolean") dev.online = data.online;
    else dev.online = true;
    if (typeof data.battery === "number") dev.battery = data.battery;
  }
  return true;
}

/** Unresolved alerts of a household the console knows, worst first. */
function alertsOf(id) {
  return [...state.alerts.values()]
    .filter((a) => a.household === id)
    .sort((a, b) => (SEVERITY_RANK[a.severity] ?? 9) - (SEVERITY_RANK[b.severity] ?? 9));
}

function door(hh) {
  if (hh.door_open == null) return h("span", { class: "door unknown" }, t("hh.unknown"));
  return h(
    "span",
    { class: `door ${hh.door_open ? "open" : "closed"}` },
    hh.door_open ? t("hh.doorOpen") : t("hh.doorClosed"),
    hh.door_at ? h("small", {}, ` ${ago(hh.door_at)}`) : null,
  );
}

function temp(hh) {
  if (hh.last_celsius == null) return h("span", { class: "temp unknown" }, t("hh.unknown"));
  return h(
    "span",
    { class: `temp${hh.last_celsius >= 37.3 ? " hot" : ""}` },
    `${Number(hh.last_celsius).toFixed(1)}°C`,
    hh.last_celsius_at ? h("small", {}, ` ${ago(hh.last_celsius_at)}`) : null,
  );
}

export const kindName = (kind) => tOr("dev", kind);

function deviceChip(d) {
  const state_ = d.online == null ? "unknown" : d.online ? "online" : "offline";
  const battery = d.battery == null ? "" : ` ${d.battery}%`;
  return h(
    "span",
    {
      class: `chip dev-${state_}${d.battery != null && d.battery <= 15 ? " low" : ""}`,
      title: `${d.id} · ${d.online ? t("hh.online") : t("hh.offline")} · ${t("hh.lastSeen")} ${ago(d.last_seen)}`,
    },
    kindName(d.kind ?? d.id),
    battery,
  );
}

function tile(hh) {
  const alerts = alertsOf(hh.id);
  const open = Math.max(alerts.length, hh.open_alerts ?? 0);
  const worst = alerts[0]?.severity ?? hh.worst_severity ?? null;
  const snap = localPath(hh.snapshot);
  return h(
    "a",
    {
      class: `tile${worst ? ` sev-${worst}` : ""}`,
      href: `#/household/${enc(hh.id)}`,
      dataset: { household: hh.id },
    },
    h(
      "div",
      { class: "tile-head" },
      h("strong", { class: "tile-id" }, hh.id),
      open ? h("span", { class: `sev sev-${worst ?? "info"}` }, `${t("hh.alerts")} ${open}`) : null,
    ),
    h("div", { class: "tile-address" }, hh.address),
    h("div", { class: "tile-residents muted" }, (hh.residents ?? []).join("、")),
    h(
      "div",
      { class: "tile-body" },
      snap ? h("img", { class: "thumb", src: snap, alt: "", loading: "lazy" }) : null,
      h(
        "dl",
        {},
        h("dt", {}, t("hh.door")),
        h("dd", {}, door(hh)),
        h("dt", {}, t("hh.temp")),
        h("dd", {}, temp(hh)),
      ),
    ),
    h("div", { class: "chips" }, (hh.devices ?? []).map(deviceChip)),
  );
}

export function renderGrid(root) {
  const list = [...state.households.values()];
  fill(
    root,
    h("h2", {}, t("hh.title"), ` (${list.length})`),
    list.length
      ? h("div", { class: "grid", id: "household-grid" }, list.map(tile))
      : h("p", { class: "empty" }, t("hh.none")),
  );
}

function alertRow(a) {
  return h(
    "li",
    { class: `alert sev-${a.severity}${isUnacked(a) ? " unacked" : " acked"}`, dataset: { id: a.id } },
    h("span", { class: `sev sev-${a.severity}` }, t(`sev.${a.severity}`)),
    " ",
    h("strong", {}, typeName(a.type)),
    " ",
    h("span", { class: `status status-${a.status}` }, t(`status.${a.status}`)),
    a.acked_by ? ` · ${t("alert.ackedBy", { who: who(a.acked_by), at: clock(a.acked_at) })}` : "",
    h("span", { class: "muted" }, ` · ${clock(a.raised_at)}`),
  );
}

/** One household's page into `root`; 403 and 404 are shown as such, not as an empty page. */
/** Whether the page still shows household `id`: an answer that comes late must not paint over
 * the view the watcher has moved to meanwhile (the alert queue, another household). */
function stillShowing(id) {
  return document.body.dataset.view === "household" && location.hash === `#/household/${enc(id)}`;
}

export async function renderHousehold(root, id) {
  fill(root, h("p", { class: "muted" }, "…"));
  let hh;
  try {
    hh = await get(`/api/v1/households/${enc(id)}`);
    if (!stillShowing(id)) return;
  } catch (err) {
    if (!stillShowing(id)) return;
    const text =
      err.status === 403 ? t("hh.forbidden") : err.status === 404 ? t("hh.missing") : t("error.load", { e: err.message });
    fill(
      root,
      h("p", {}, h("a", { href: "#/households" }, t("hh.back"))),
      h("p", { class: "error forbidden", id: "household-error", dataset: { status: err.status } }, text),
    );
    return;
  }
  const brief = state.households.get(id) ?? {};
  const alerts = hh.alerts ?? alertsOf(id);
  const chart = h("section", { class: "panel" }, h("h3", {}, t("hh.chart")));
  const timeline = h("section", { class: "panel" }, h("h3", {}, t("hh.timeline")));
  const devices = hh.devices ?? brief.devices ?? [];
  const left = h("div", {});
  const right = h("div", {}, chart, timeline);
  const therm = devices.find((d) => d.last_celsius != null);
  const tempState = brief.last_celsius != null ? brief : { last_celsius: therm?.last_celsius, last_celsius_at: therm?.last_seen };
  fill(
    root,
    h("p", {}, h("a", { href: "#/households" }, t("hh.back"))),
    h("h2", { class: "household-title" }, `${hh.id} · `, h("span", { id: "household-address" }, hh.address)),
    h(
      "div",
      { class: "household-facts" },
      h("div", {}, h("span", { class: "muted" }, `${t("hh.residents")}: `), residentsLine(hh.residents ?? [])),
      hh.isolation
        ? h("div", {}, h("span", { class: "muted" }, `${t("hh.isolation")}: `), `${clock(hh.isolation.start)} – ${clock(hh.isolation.end)}`)
        : null,
      hh.officer ? h("div", {}, h("span", { class: "muted" }, `${t("hh.officer")}: `), who(hh.officer)) : null,
      hh.doctor ? h("div", {}, h("span", { class: "muted" }, `${t("hh.doctor")}: `), who(hh.doctor)) : null,
      h("div", {}, h("span", { class: "muted" }, `${t("hh.door")}: `), door(doorOf(hh, brief))),
      h("div", {}, h("span", { class: "muted" }, `${t("hh.temp")}: `), temp(tempState)),
    ),
    h("div", { class: "household-panels" }, left, right),
  );
  left.append(
    h(
      "section",
      { class: "panel" },
      h("h3", {}, t("hh.devices")),
      h(
        "table",
        { class: "table" },
        h("tbody", {}, devices.map((d) =>
          h(
            "tr",
            {},
            h("td", {}, d.id),
            h("td", {}, kindName(d.kind)),
            h("td", {}, d.online == null ? t("hh.unknown") : d.online ? t("hh.online") : t("hh.offline")),
            h("td", {}, d.battery == null ? "" : t("hh.battery", { n: d.battery })),
            h("td", { class: "muted" }, d.last_seen ? ago(d.last_seen) : t("hh.unknown")),
          ),
        )),
      ),
    ),
    h(
      "section",
      { class: "panel" },
      h("h3", {}, t("hh.alerts")),
      alerts.length ? h("ul", { class: "alert-list compact" }, alerts.map(alertRow)) : h("p", { class: "empty" }, t("alerts.none")),
    ),
  );
  loadChart(chart, id);
  loadTimeline(timeline, id);
  householdCare(left, right, hh);
}

function doorOf(hh, brief) {
  const dev = (hh.devices ?? []).find((d) => d.door_open != null);
  return brief.door_open != null ? brief : { door_open: dev?.door_open ?? null, door_at: dev?.last_seen };
}

async function loadChart(root, id) {
  try {
    const readings = await get(`/api/v1/households/${enc(id)}/readings?limit=500`);
    root.append(readings.length ? temperatureChart(readings) : h("p", { class: "empty" }, t("hh.noReadings")));
  } catch (err) {
    root.append(h("p", { class: "error" }, t("error.load", { e: err.message })));
  }
}

async function loadTimeline(root, id) {
  try {
    const items = await get(`/api/v1/households/${enc(id)}/timeline?hours=48`);
    root.append(
      h(
        "ol",
        { class: "timeline", id: "timeline" },
        items.map((x) =>
          h(
            "li",
            { class: `kind-${x.kind}` },
            h("span", { class: "muted" }, clock(x.at)),
            " ",
            h("span", { class: `kind kind-${x.kind}` }, t(`kind.${x.kind}`)),
            " ",
            x.text,
          ),
        ),
      ),
    );
  } catch (err) {
    root.append(h("p", { class: "error" }, t("error.load", { e: err.message })));
  }
}
