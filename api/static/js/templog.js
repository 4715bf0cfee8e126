// A household's temperature log (体温监测表) as the doctor reviews it before signing: one row
// per day and resident, per reading window the readings and the symptom check, missed ones in
// red, and what was taken outside every window (GET /api/v1/households/{id}/temperature-log).

import { fill, h } from "./dom.js";
import { clock, currentLang, t, tOr } from "./i18n.js";
import { hm } from "./care.js";

function readingCell(slot) {
  if (!slot || slot.reading === "pending") return h("td", { class: "slot pending" }, t("log.pending"));
  if (slot.reading === "missed") return h("td", { class: "slot missed" }, t("log.missed"));
  return h(
    "td",
    { class: "slot taken", title: slot.readings.map((r) => `${hm(r.at)} ${r.celsius.toFixed(1)}°C`).join("\n") },
    slot.readings.map((r, i) => [i ? " / " : "", h("span", { class: r.fever ? "hot" : "" }, r.celsius.toFixed(1))]),
  );
}

function checkCell(slot) {
  if (!slot || slot.check === "pending") return h("td", { class: "slot pending" }, t("log.pending"));
  if (slot.check === "missed") return h("td", { class: "slot missed" }, t("log.checkMissed"));
  const said = [...new Set(slot.checks.flatMap((c) => c.symptoms))];
  return h(
    "td",
    { class: `slot given${said.length ? " hot" : ""}` },
    said.length ? said.map((s) => tOr("sym", s)).join(currentLang() === "zh" ? "、" : ", ") : t("log.noneSaid"),
  );
}

function others(day, resident) {
  const readings = day.other_readings.filter((r) => r.resident === resident);
  const checks = day.other_checks.filter((c) => c.resident === resident);
  return h(
    "td",
    { class: "slot other" },
    readings.map((r) => h("div", {}, `${hm(r.at)} `, h("span", { class: r.fever ? "hot" : "" }, `${r.celsius.toFixed(1)}°C`))),
    checks.map((c) => h("div", {}, `${hm(c.at)} `, c.symptoms.length ? c.symptoms.map((s) => tOr("sym", s)).join("、") : t("log.noneSaid"))),
  );
}

/** The log as a table, into `root`. */
export function renderLog(root, log) {
  if (!log.days.length) {
    fill(root, h("h3", {}, t("log.title")), h("p", { class: "empty" }, t("log.none")));
    return;
  }
  const names = new Map(log.residents.map((r) => [r.id, r.name]));
  const residents = log.residents.map((r) => r.id);
  const rows = [];
  for (const day of log.days) {
    const bySlot = new Map(day.slots.map((s) => [`${s.window}|${s.resident}`, s]));
    const hasOther = day.other_readings.length || day.other_checks.length;
    if (!day.slots.length && !hasOther) continue;
    residents.forEach((rid, i) => {
      rows.push(
        h(
          "tr",
          { dataset: { date: day.date, resident: rid } },
          i === 0 ? h("th", { rowspan: String(residents.length), class: "day" }, day.date.slice(5)) : null,
          h("td", {}, names.get(rid) ?? rid),
          log.windows.flatMap((w) => {
            const slot = bySlot.get(`${w}|${rid}`);
            return [readingCell(slot), checkCell(slot)];
          }),
          others(day, rid),
        ),
      );
    });
  }
  fill(
    root,
    h("h3", {}, t("log.title")),
    h(
      "p",
      { class: log.missed_readings || log.fevers ? "error" : "muted", id: "log-summary" },
      t("log.summary", { m: log.missed_readings, c: log.missed_checks, f: log.fevers }),
      h("span", { class: "muted" }, ` · ${clock(log.period_start)} – ${clock(log.period_end)} · ≥${log.fever_celsius}°C`),
    ),
    h(
      "div",
      { class: "log-scroll" },
      h(
        "table",
        { class: "table templog", id: "temperature-log" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { rowspan: "2" }, t("col.date")),
            h("th", { rowspan: "2" }, t("col.resident")),
            log.windows.map((w) => h("th", { colspan: "2", class: "window" }, w)),
            h("th", { rowspan: "2" }, t("col.other")),
          ),
          h("tr", {}, log.windows.flatMap(() => [h("th", {}, t("log.reading")), h("th", {}, t("log.check"))])),
        ),
        h("tbody", {}, rows),
      ),
    ),
  );
}
