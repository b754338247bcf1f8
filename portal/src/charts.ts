// Hand-rolled SVG charts. Each has a text alternative (aria-label plus a data table behind a
// "Show as table" disclosure), and colours that keep 3:1 against white.

import type { Funnel, Report } from "./api";
import { h, s } from "./dom";
import { n, pct, short } from "./format";

const FUNNEL_STEPS: [keyof Funnel, string][] = [
  ["uploaded", "Uploaded"],
  ["sent", "Sent"],
  ["opened", "Opened"],
  ["clicked", "Clicked"],
  ["inGroup", "In group"],
  ["active", "Active"],
];

/** The funnel: one horizontal bar per stage, scaled to the uploaded count. */
export function funnelChart(f: Funnel): HTMLElement {
  const W = 460;
  const rowH = 32;
  const labelW = 78;
  const valueW = 112;
  const barW = W - labelW - valueW;
  const max = Math.max(1, f.uploaded);
  const label = FUNNEL_STEPS.map(([k, l]) => `${l} ${n(f[k])}`).join(", ");
  const svg = s(
    "svg",
    { viewBox: `0 0 ${W} ${FUNNEL_STEPS.length * rowH}`, role: "img", "aria-label": `Funnel: ${label}`, class: "chart funnel", id: "funnel-chart" },
    ...FUNNEL_STEPS.map(([k, l], i) => {
      const v = f[k];
      const w = Math.max(v > 0 ? 2 : 0, (v / max) * barW);
      const y = i * rowH;
      return s(
        "g",
        { "data-step": k },
        s("text", { x: 0, y: y + rowH / 2 + 5, class: "axis-label" }, l),
        s("rect", { x: labelW, y: y + 5, width: barW, height: rowH - 10, class: "track", rx: 3 }),
        s("rect", { x: labelW, y: y + 5, width: w, height: rowH - 10, class: `bar step-${i}`, rx: 3 }),
        s("text", { x: labelW + barW + 8, y: y + rowH / 2 + 5, class: "value" }, `${n(v)} (${pct(v, f.uploaded)})`),
      );
    }),
  );
  return h("figure", { class: "chart-wrap" }, svg, dataTable("Funnel", ["Stage", "People", "% of uploaded"], FUNNEL_STEPS.map(([k, l]) => [l, n(f[k]), pct(f[k], f.uploaded)])));
}

/** Counts by status as labelled horizontal bars. */
export function statusBars(byStatus: Record<string, number>, order: string[], label: (s: string) => string): HTMLElement {
  const keys = [...order, ...Object.keys(byStatus).filter((k) => !order.includes(k))];
  const total = keys.reduce((a, k) => a + (byStatus[k] ?? 0), 0);
  const max = Math.max(1, ...keys.map((k) => byStatus[k] ?? 0));
  return h(
    "ul",
    { class: "status-bars", id: "status-bars" },
    ...keys.map((k) => {
      const v = byStatus[k] ?? 0;
      const bar = h("span", { class: `fill status-${k}` });
      bar.style.width = `${(v / max) * 100}%`;
      return h(
        "li",
        { "data-status": k },
        h("span", { class: "name" }, label(k)),
        h("span", { class: "meter", "aria-hidden": "true" }, bar),
        h("span", { class: "count" }, `${n(v)} (${pct(v, total)})`),
      );
    }),
  );
}

const SERIES: [keyof Report["summary"]["byDay"][number], string][] = [
  ["uploaded", "Uploaded"],
  ["sent", "Sent"],
  ["clicked", "Clicked"],
  ["active", "Registered"],
];

/** Activity per day: the `days` days up to `today` — the server's day (its clock may be simulated and
 * far from the browser's, as in the local demo). */
export function activityChart(byDay: Report["summary"]["byDay"], today: Date, days = 14): HTMLElement {
  const keys: string[] = [];
  for (let i = days - 1; i >= 0; i--) {
    const d = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - i));
    keys.push(d.toISOString().slice(0, 10));
  }
  const by = new Map(byDay.map((d) => [d.day, d]));
  const W = 500;
  const H = 210;
  const left = 40;
  const bottom = 24;
  const top = 10;
  const plotW = W - left - 24;
  const plotH = H - bottom - top;
  const max = Math.max(1, ...keys.flatMap((k) => SERIES.map(([s]) => Number(by.get(k)?.[s] ?? 0))));
  const x = (i: number) => left + (keys.length === 1 ? plotW / 2 : (i * plotW) / (keys.length - 1));
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const grid = [0, 0.5, 1].map((f) =>
    s("g", {}, s("line", { x1: left, x2: W - 24, y1: y(max * f), y2: y(max * f), class: "grid" }), s("text", { x: left - 6, y: y(max * f) + 4, class: "axis-label end" }, short(Math.round(max * f)))),
  );
  const lines = SERIES.map(([key], si) =>
    s("polyline", { class: `line series-${si}`, points: keys.map((k, i) => `${x(i).toFixed(1)},${y(Number(by.get(k)?.[key] ?? 0)).toFixed(1)}`).join(" ") }),
  );
  const ticks = keys.map((k, i) => (i % 2 === (keys.length - 1) % 2 ? s("text", { x: x(i), y: H - 6, class: "axis-label mid" }, k.slice(5)) : null));
  const totals = SERIES.map(([key, l]) => `${l} ${n(keys.reduce((a, k) => a + Number(by.get(k)?.[key] ?? 0), 0))}`).join(", ");
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `Activity over the last ${days} days: ${totals}`, class: "chart activity", id: "activity-chart" }, ...grid, ...lines, ...ticks);
  const legend = h("ul", { class: "legend" }, ...SERIES.map(([, l], si) => h("li", {}, h("span", { class: `swatch series-${si}`, "aria-hidden": "true" }), l)));
  return h(
    "figure",
    { class: "chart-wrap" },
    svg,
    legend,
    dataTable("Activity per day", ["Day", ...SERIES.map(([, l]) => l)], keys.map((k) => [k, ...SERIES.map(([key]) => n(Number(by.get(k)?.[key] ?? 0)))])),
  );
}

/** A data table behind a disclosure: the text alternative of a chart. */
function dataTable(caption: string, head: string[], rows: string[][]): HTMLElement {
  return h(
    "details",
    { class: "as-table" },
    h("summary", {}, "Show as table"),
    h(
      "table",
      {},
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, ...head.map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c, i) => (i === 0 ? h("th", { scope: "row" }, c) : h("td", { class: "num" }, c)))))),
    ),
  );
}

/** Colour band of a completion percentage, with a word so colour is not the only signal. */
export function band(percent: number): { cls: string; word: string } {
  if (percent >= 80) return { cls: "band-good", word: "On track" };
  if (percent >= 50) return { cls: "band-mid", word: "Behind" };
  return { cls: "band-low", word: "At risk" };
}
