// Residents flagged vulnerable in the register (独居老人, 慢性病, 孕妇, 透析): a 重点关注 badge on
// every alert about them and beside their names on the household page.

import { h } from "./dom.js";
import { currentLang, t, tOr } from "./i18n.js";

/** The flags in the page's language, e.g. "独居老人、透析". */
export function flagNames(flags) {
  return (flags ?? []).map((f) => tOr("vuln", f)).join(currentLang() === "zh" ? "、" : ", ");
}

/** A 重点关注 badge naming the flags, or null when there are none. */
export function vulnBadge(flags) {
  if (!flags?.length) return null;
  return h(
    "span",
    { class: "vuln", title: t("vuln.badge"), dataset: { flags: flags.join(" ") } },
    t("vuln.label", { flags: flagNames(flags) }),
  );
}
