// A temperature chart as inline SVG: readings over time, the fever line, axis labels.

import { svg } from "./dom.js";

const W = 640;
const H = 200;
const PAD = { left: 42, right: 12, top: 12, bottom: 28 };

/**
 * readings: [{ts, celsius, resident}] in any order. Returns an <svg> element.
 * fever: the site's fever threshold (°C), drawn as a dashed line.
 */
export function temperatureChart(readings, fever = 37.3) {
  const points = readings
    .filter((r) => typeof r.celsius === "number" && r.ts)
    .map((r) => ({ t: new Date(r.ts).getTime(), c: r.celsius, who: r.resident ?? "" }))
    .sort((a, b) => a.t - b.t);
  const root = svg("svg", {
    class: "chart",
    viewBox: `0 0 ${W} ${H}`,
    role: "img",
    preserveAspectRatio: "xMidYMid meet",
  });
  const lo = Math.min(35.5, ...points.map((p) => p.c)) - 0.2;
  const hi = Math.max(39.5, ...points.map((p) => p.c)) + 0.2;
  const t0 = points.length ? points[0].t : Date.now() - 86400e3;
  const t1 = points.length > 1 ? points[points.length - 1].t : t0 + 3600e3;
  const x = (t) => PAD.left + ((t - t0) / (t1 - t0 || 1)) * (W - PAD.left - PAD.right);
  const y = (c) => PAD.top + ((hi - c) / (hi - lo)) * (H - PAD.top - PAD.bottom);

  for (let c = Math.ceil(lo); c <= hi; c += 1) {
    root.append(
      svg("line", { class: "grid", x1: PAD.left, x2: W - PAD.right, y1: y(c), y2: y(c) }),
      svg("text", { class: "axis", x: PAD.left - 6, y: y(c) + 4, "text-anchor": "end" }, `${c}°`),
    );
  }
  root.append(
    svg("line", { class: "fever", x1: PAD.left, x2: W - PAD.right, y1: y(fever), y2: y(fever) }),
    svg("text", { class: "fever-label", x: W - PAD.right, y: y(fever) - 4, "text-anchor": "end" }, `${fever}°C`),
  );
  const short = t1 - t0 < 3 * 3600e3; // within hours: the time alone, to the second if close
  const label = (t) => {
    const d = new Date(t);
    const pad = (n) => String(n).padStart(2, "0");
    const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    if (short) return t1 - t0 < 600e3 ? `${hm}:${pad(d.getSeconds())}` : hm;
    return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}`;
  };
  const ticks = points.length > 1 ? [t0, (t0 + t1) / 2, t1] : [t0];
  ticks.forEach((t, i) => {
    const anchor = i === 0 ? "start" : i === ticks.length - 1 ? "end" : "middle";
    root.append(svg("text", { class: "axis", x: x(t), y: H - 8, "text-anchor": anchor }, label(t)));
  });
  // One line per resident (a household may have several thermometers).
  const byResident = new Map();
  for (const p of points) {
    if (!byResident.has(p.who)) byResident.set(p.who, []);
    byResident.get(p.who).push(p);
  }
  let n = 0;
  for (const [, series] of byResident) {
    n += 1;
    root.append(
      svg("polyline", {
        class: `series s${n % 4}`,
        points: series.map((p) => `${x(p.t).toFixed(1)},${y(p.c).toFixed(1)}`).join(" "),
      }),
    );
    for (const p of series) {
      root.append(
        svg(
          "circle",
          { class: p.c >= fever ? "dot hot" : `dot s${n % 4}`, cx: x(p.t), cy: y(p.c), r: 3.5 },
          svg("title", {}, `${label(p.t)} ${p.c.toFixed(1)}°C ${p.who}`),
        ),
      );
    }
  }
  return root;
}
