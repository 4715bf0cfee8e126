// The technician's view: devices that publish but no household binds, a form that binds one to
// a household's device slot, and a household's commissioning checklist, kept current live.

import { get, post } from "./api.js";
import { fill, h } from "./dom.js";
import { ago, clock, t } from "./i18n.js";
import { kindName } from "./households.js";
import { state } from "./state.js";

const enc = encodeURIComponent;
const REFRESH_MS = 3000;

let commissionTimer = null;
let unknownTimer = null;
let unknownShown = null; // the device keys listed, to redraw only when they change
let commissionFor = null;
let commissionRoot = null;

/** Stop refreshing the checklist (the view was left). */
export function leaveTech() {
  clearInterval(commissionTimer);
  clearInterval(unknownTimer);
  commissionTimer = null;
  unknownTimer = null;
  commissionRoot = null;
}

/** A stream event of the household whose checklist is shown: refresh it at once. */
export function techEvent(msg) {
  if (commissionRoot && msg.household === commissionFor) refreshCommission();
}

function bindForm(row, onBound) {
  const households = [...state.households.values()];
  const slot = h("select", { name: "device", required: true });
  const pickSlots = (hid) => {
    const hh = state.households.get(hid);
    const devices = (hh?.devices ?? []).filter((d) => !row.kind || !d.kind || d.kind === row.kind);
    fill(slot, devices.map((d) => h("option", { value: d.id }, `${d.id} (${kindName(d.kind)})`)));
  };
  const household = h(
    "select",
    { name: "household", required: true, onchange: (ev) => pickSlots(ev.target.value) },
    households.map((x) => h("option", { value: x.id }, `${x.id} ${x.address}`)),
  );
  pickSlots(households[0]?.id);
  const message = h("span", { class: "muted", role: "status" });
  return h(
    "form",
    {
      class: "bind",
      onsubmit: async (ev) => {
        ev.preventDefault();
        const button = ev.target.querySelector("button");
        button.disabled = true;
        try {
          await post("/api/v1/devices/unknown/bind", {
            protocol: row.protocol,
            address: row.address,
            household: household.value,
            device: slot.value,
          });
          onBound(t("tech.bound", { addr: row.address, dev: slot.value }));
        } catch (err) {
          button.disabled = false;
          fill(message, t("alert.failed", { e: err.message }));
        }
      },
    },
    h("label", {}, t("tech.household"), " ", household),
    h("label", {}, t("tech.slot"), " ", slot),
    h("button", { type: "submit", class: "btn small" }, t("tech.bind")),
    message,
  );
}

async function renderUnknown(root, status, quiet = false) {
  let rows;
  try {
    rows = await get("/api/v1/devices/unknown");
    const keys = rows.map((r) => r.device_key).join("\n");
    // A refresh redraws only when the list changed, and never under a form being filled in.
    if (quiet && (keys === unknownShown || root.contains(document.activeElement))) return;
    unknownShown = keys;
  } catch (err) {
    if (quiet) return;
    fill(root, h("h2", {}, t("tech.unknown")), h("p", { class: "error" }, err.status === 403 ? t("tech.forbidden") : t("error.load", { e: err.message })));
    return;
  }
  fill(
    root,
    h("h2", {}, t("tech.unknown"), ` (${rows.length})`),
    rows.length
      ? h(
          "table",
          { class: "table", id: "unknown-devices" },
          h("thead", {}, h("tr", {}, [t("col.protocol"), t("col.address"), t("col.topic"), t("col.lastSeen"), t("col.count"), ""].map((c) => h("th", {}, c)))),
          h(
            "tbody",
            {},
            rows.map((r) =>
              h(
                "tr",
                {},
                h("td", {}, r.protocol),
                h("td", {}, h("code", {}, r.address)),
                h("td", { class: "muted" }, r.topic),
                h("td", {}, ago(r.last_seen)),
                h("td", {}, String(r.count)),
                h(
                  "td",
                  {},
                  bindForm(r, (text) => {
                    fill(status, text);
                    renderUnknown(root, status);
                  }),
                ),
              ),
            ),
          ),
        )
      : h("p", { class: "empty" }, t("tech.noUnknown")),
  );
}

async function refreshCommission() {
  const root = commissionRoot;
  if (!root || !commissionFor) return;
  try {
    const c = await get(`/api/v1/households/${enc(commissionFor)}/commission`);
    if (root !== commissionRoot) return;
    fill(
      root,
      h("p", { class: c.complete ? "ok" : "muted", id: "commission-state" }, c.complete ? t("tech.complete") : t("tech.incomplete")),
      h(
        "table",
        { class: "table", id: "commission" },
        h("thead", {}, h("tr", {}, [t("col.device"), t("col.check"), t("col.done")].map((x) => h("th", {}, x)))),
        h(
          "tbody",
          {},
          (c.items ?? []).map((i) =>
            h(
              "tr",
              { class: i.done ? "done" : "" },
              h("td", {}, `${i.device} (${kindName(i.kind)})`),
              h("td", {}, i.check),
              h("td", {}, i.done ? `✔ ${clock(i.at)}` : "…"),
            ),
          ),
        ),
      ),
    );
  } catch (err) {
    fill(root, h("p", { class: "error" }, t("error.load", { e: err.message })));
  }
}

function commissionPanel() {
  const body = h("div", {});
  const households = [...state.households.values()];
  const pick = (hid) => {
    commissionFor = hid;
    commissionRoot = body;
    refreshCommission();
  };
  const select = h(
    "select",
    { id: "commission-household", onchange: (ev) => pick(ev.target.value) },
    h("option", { value: "" }, t("tech.pickHousehold")),
    households.map((x) => h("option", { value: x.id, selected: x.id === commissionFor }, `${x.id} ${x.address}`)),
  );
  clearInterval(commissionTimer);
  commissionTimer = setInterval(refreshCommission, REFRESH_MS);
  if (commissionFor) pick(commissionFor);
  return h("section", { class: "panel" }, h("h2", {}, t("tech.commission")), select, body);
}

export function renderTech(root) {
  const unknown = h("section", { class: "panel" });
  const status = h("p", { id: "bind-status", class: "ok", role: "status" });
  fill(root, status, unknown, commissionPanel());
  unknownShown = null;
  renderUnknown(unknown, status);
  // A bound device leaves the list once the gateway has taken up the changed site.
  clearInterval(unknownTimer);
  unknownTimer = setInterval(() => renderUnknown(unknown, status, true), REFRESH_MS);
}
