// The daily report (每日报告): one local day, a row per household in the user's scope, the
// community's totals, and the same as CSV for Excel. #/daily is today (the gateway's day),
// #/daily/YYYY-MM-DD another day.

import { get } from "./api.js";
import { fill, h } from "./dom.js";
import { clock, t } from "./i18n.js";

const enc = encodeURIComponent;

// The columns after the household's address: [field, i18n key, how to show a row's value].
const count = (v) => String(v ?? 0);
const COLUMNS = [
  ["readings", "daily.readings", count],
  ["readings_missed", "daily.readingsMissed", count],
  ["symptom_checks", "daily.symptomChecks", count],
  ["symptom_checks_missed", "daily.symptomChecksMissed", count],
  ["symptoms_reported", "daily.symptomsReported", count],
  ["fevers", "daily.fevers", count],
  ["breaches", "daily.breaches", count],
  ["breach_outcomes", "daily.outcomes", (v) => outcomes(v)],
  ["devices_offline", "daily.devicesOffline", count],
  ["device_offline_alerts", "daily.offlineAlerts", count],
  ["checkin_overdue", "daily.checkin", null],
  ["services_requested", "daily.services", null],
  ["prereports", "daily.prereports", count],
  ["released", "daily.released", (v) => (v ? t("daily.yes") : "—")],
];

function outcomes(list) {
  if (!list?.length) return "";
  return list
    .map((b) => [b.at, t(`daily.outcome.${b.outcome}`), b.by].filter(Boolean).join(" "))
    .join("；");
}

function checkin(row) {
  if (!row.checkin_due) return "—";
  const due = clock(row.checkin_due);
  return row.checkin_overdue
    ? h("span", { class: "overdue" }, t("daily.overdue", { t: due }))
    : t("daily.due", { t: due });
}

// On a phone the header row is hidden: each cell says what it is.
const td = (label, attrs, ...children) => h("td", { ...attrs, "data-label": t(label) }, ...children);

function cell(row, [key, label, show]) {
  if (key === "checkin_overdue") return td(label, {}, checkin(row));
  if (key === "services_requested") {
    return td(label, {}, t("daily.servicesOf", { n: count(row.services_requested), d: count(row.services_done) }));
  }
  const value = row[key];
  const alarming = typeof value === "number" && value > 0 && /missed|fevers|breaches|open|offline/.test(key);
  if (key === "breach_outcomes") {
    return td(label, { class: row.breaches_open ? "warn" : "" }, show(value));
  }
  return td(label, { class: alarming ? "num warn" : "num" }, show(value));
}

function totalsCell(totals, [key, label]) {
  if (key === "breach_outcomes") {
    return td(label, {}, t("daily.breachSplit", {
      r: totals.breaches_resolved, a: totals.breaches_acknowledged, o: totals.breaches_open,
    }));
  }
  if (key === "checkin_overdue") return td(label, {}, t("daily.overdueCount", { n: totals.checkin_overdue }));
  if (key === "services_requested") {
    return td(label, {}, t("daily.servicesOf", { n: totals.services_requested, d: totals.services_done }));
  }
  return td(label, { class: "num" }, count(totals[key]));
}

function table(report) {
  const head = h(
    "tr",
    {},
    h("th", {}, t("daily.household")),
    COLUMNS.map(([, label]) => h("th", {}, t(label))),
  );
  const body = [];
  for (const totals of report.communities) {
    const rows = report.rows.filter((r) => r.community === totals.community);
    for (const r of rows) {
      body.push(
        h(
          "tr",
          { dataset: { household: r.household } },
          h("td", {}, h("a", { href: `#/household/${enc(r.household)}` }, r.household), h("div", { class: "muted" }, r.address)),
          COLUMNS.map((c) => cell(r, c)),
        ),
      );
    }
    body.push(
      h(
        "tr",
        { class: "total", dataset: { community: totals.community } },
        h("td", {}, h("strong", {}, totals.community), h("div", { class: "muted" }, t("daily.households", { n: totals.households }))),
        COLUMNS.map((c) => totalsCell(totals, c)),
      ),
    );
  }
  return h("table", { class: "table daily-table", id: "daily-table" }, h("thead", {}, head), h("tbody", {}, body));
}

/** The 日报 view: a date picker, the table, a CSV download of the same. */
export async function renderDaily(root, day = null) {
  const picker = h("input", {
    type: "date",
    id: "daily-date",
    value: day ?? "",
    onchange: (ev) => {
      if (ev.target.value) location.hash = `#/daily/${ev.target.value}`;
    },
  });
  const csv = h("a", { class: "btn small", id: "daily-csv", hidden: true }, t("daily.csv"));
  const meta = h("p", { class: "muted", id: "daily-meta" }, t("daily.loading"));
  const body = h("div", { class: "daily-body" });
  fill(
    root,
    h(
      "section",
      { class: "panel", id: "daily" },
      h("div", { class: "daily-head" }, h("h2", {}, t("daily.title")), h("label", {}, `${t("daily.date")} `, picker), csv),
      meta,
      body,
    ),
  );
  let report;
  try {
    report = await get(`/api/v1/reports/daily${day ? `?date=${enc(day)}` : ""}`);
  } catch (err) {
    fill(meta, "");
    fill(body, h("p", { class: "error" }, err.status === 422 ? t("daily.future") : t("error.load", { e: err.message })));
    return;
  }
  picker.value = report.day;
  if (!day) picker.max = report.day; // today, on the gateway's clock
  csv.href = `/api/v1/reports/daily?date=${enc(report.day)}&format=csv`;
  csv.setAttribute("download", `daily-${report.day}.csv`);
  csv.hidden = false;
  fill(meta, t("daily.generated", { t: clock(report.generated_at) }));
  fill(body, report.rows.length ? table(report) : h("p", { class: "empty" }, t("daily.none")));
}
