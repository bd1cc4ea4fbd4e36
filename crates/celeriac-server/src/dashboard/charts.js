// Time-series charts as inline SVG, built node by node (no markup strings,
// no library). Colours come from classes in dashboard.css, so the page's
// style policy needs no inline styles.

import { h, fmtClock } from "./dom.js";

const SVG_NS = "http://www.w3.org/2000/svg";
/** Default viewBox width; wide charts pass their own. */
const WIDTH = 420;
const MARGIN = { left: 44, right: 10, top: 10, bottom: 22 };

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    el.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return el;
}

/** A native tooltip for an SVG shape. */
function tooltip(text) {
  return svg("title", null, text);
}

/** Round axis steps: at most `count` intervals, whole numbers if `integer`. */
function scaleY(max, integer, count = 4) {
  const top = max > 0 ? max : 1;
  const raw = top / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) || raw;
  if (integer) step = Math.max(1, Math.ceil(step));
  const end = step * Math.ceil(top / step - 1e-9);
  const ticks = [];
  for (let i = 0; i * step <= end + step * 1e-6; i++) ticks.push(i * step);
  return { end, ticks };
}

const X_STEPS = [5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];

function xTicks(start, end) {
  const span = Math.max(1, end - start);
  const step = X_STEPS.find((s) => span / s <= 6) || span;
  const ticks = [];
  for (let t = Math.ceil(start / step) * step; t <= end; t += step) ticks.push(t);
  return { step, ticks };
}

/**
 * A chart over a time window.
 *
 * - `kind`: "bars" (one bar per `bucket`, series stacked) or "lines".
 * - `series`: [{name, cls, points: [{t, v}]}]: t in unix seconds, v a number
 *   or null (a gap in a line).
 * - `start`, `end`: the window; `width`, `height`: the viewBox;
 * - `format(v)`: y labels and tooltips;
 *   `integer`: whole-number y steps; `summary(series)`: legend text.
 */
export function timeChart(opts) {
  const height = opts.height || 170;
  const width = opts.width || WIDTH;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const { start, end } = opts;
  const format = opts.format || ((v) => String(v));
  const x = (t) => MARGIN.left + ((t - start) / Math.max(1, end - start)) * plotW;

  let max = 0;
  let present = 0;
  if (opts.kind === "bars") {
    const sums = new Map();
    for (const s of opts.series) {
      for (const p of s.points) {
        if (p.v > 0) present++;
        sums.set(p.t, (sums.get(p.t) || 0) + (p.v || 0));
      }
    }
    for (const v of sums.values()) max = Math.max(max, v);
  } else {
    for (const s of opts.series) {
      for (const p of s.points) {
        if (p.v !== null && Number.isFinite(p.v)) {
          present++;
          max = Math.max(max, p.v);
        }
      }
    }
  }
  const yScale = scaleY(max, opts.integer);
  const y = (v) => MARGIN.top + plotH - (v / yScale.end) * plotH;

  const root = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "chart-svg",
    role: "img",
    "aria-label": opts.title,
  });

  // Grid and axes.
  for (const v of yScale.ticks) {
    root.appendChild(svg("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: y(v), y2: y(v), class: v === 0 ? "axis" : "grid" }));
    root.appendChild(svg("text", { x: MARGIN.left - 6, y: y(v) + 4, class: "tick", "text-anchor": "end" }, format(v)));
  }
  const xs = xTicks(start, end);
  for (const t of xs.ticks) {
    root.appendChild(svg("line", { x1: x(t), x2: x(t), y1: MARGIN.top + plotH, y2: MARGIN.top + plotH + 4, class: "axis" }));
    root.appendChild(svg("text", { x: x(t), y: height - 6, class: "tick", "text-anchor": "middle" }, fmtClock(t, xs.step < 60)));
  }

  if (opts.kind === "bars") drawBars(root, opts, x, y, format);
  else drawLines(root, opts, x, y, format);

  if (present === 0) {
    root.appendChild(
      svg("text", { x: MARGIN.left + plotW / 2, y: MARGIN.top + plotH / 2, class: "no-data", "text-anchor": "middle" }, opts.emptyText || "No data in this window"),
    );
  }

  const legend = opts.series.map((s) =>
    h("span", { class: "legend" }, h("span", { class: `swatch ${s.cls}` }), s.name, opts.summary ? h("b", null, ` ${opts.summary(s)}`) : null),
  );
  return h(
    "figure",
    { class: "chart", testid: opts.testid, dataset: { points: present } },
    h("figcaption", null, h("span", { class: "chart-title" }, opts.title), h("span", { class: "legends" }, legend)),
    root,
  );
}

function drawBars(root, opts, x, y, format) {
  const bucket = opts.bucket || 60;
  const byTime = new Map();
  opts.series.forEach((s, i) => {
    for (const p of s.points) {
      if (!byTime.has(p.t)) byTime.set(p.t, new Array(opts.series.length).fill(0));
      byTime.get(p.t)[i] = p.v || 0;
    }
  });
  for (const [t, values] of byTime) {
    const left = x(t) + 0.5;
    const width = Math.max(1, x(t + bucket) - x(t) - 1);
    const total = values.reduce((a, b) => a + b, 0);
    if (total <= 0) continue;
    const label = `${fmtClock(t)} · ${opts.series.map((s, i) => `${s.name} ${format(values[i])}`).join(", ")}`;
    let base = 0;
    values.forEach((v, i) => {
      if (v <= 0) return;
      const top = y(base + v);
      const bottom = y(base);
      root.appendChild(svg("rect", { x: left, y: top, width, height: Math.max(0.5, bottom - top), class: `bar ${opts.series[i].cls}` }, tooltip(label)));
      base += v;
    });
  }
}

function drawLines(root, opts, x, y, format) {
  for (const s of opts.series) {
    const points = [...s.points].sort((a, b) => a.t - b.t);
    let segment = [];
    const flush = () => {
      if (segment.length > 1) {
        root.appendChild(svg("polyline", { points: segment.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" "), class: `line ${s.cls}` }));
      }
      segment = [];
    };
    for (const p of points) {
      if (p.v === null || !Number.isFinite(p.v)) {
        flush();
        continue;
      }
      segment.push(p);
      // Each value keeps a dot with its tooltip; lone values stay visible.
      root.appendChild(svg("circle", { cx: x(p.t), cy: y(p.v), r: 2.2, class: `dot ${s.cls}` }, tooltip(`${fmtClock(p.t, true)} · ${s.name} ${format(p.v)}`)));
    }
    flush();
  }
}
