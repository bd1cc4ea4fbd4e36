// The overview: counters and charts of the last hour, and queue depths as
// this page sampled them.

import { get } from "./api.js";
import { timeChart } from "./charts.js";
import { fill, fmtCount, fmtDuration, h } from "./dom.js";

const WINDOW = 3600;
const BUCKET = 60;
/** Queue-depth chart: the last 10 minutes of samples. */
const DEPTH_WINDOW = 600;
/** Lines in the depth chart; the busiest queues win. */
const DEPTH_QUEUES = 6;

export function overviewView(app) {
  const counters = h("div", { class: "counters", testid: "counters" });
  const activity = h("div", { class: "charts" });
  const depth = h("div", { class: "charts single" });
  const el = h("div", { class: "view", testid: "view-overview" }, counters, activity, depth);
  let throughput = null;
  let workers = null;

  async function refresh() {
    const [tp, ws] = await Promise.all([
      get("api/stats/throughput", { window: WINDOW, bucket: BUCKET }),
      get("api/workers"),
      app.sampleQueues(),
    ]);
    throughput = tp;
    workers = ws.workers || [];
    renderCounters();
    renderActivity();
    renderDepth();
  }

  function renderCounters() {
    const queues = app.latestQueues || [];
    const perMinute = queues.reduce((n, q) => n + (q.succeeded_last_minute || 0) + (q.failed_last_minute || 0), 0);
    const points = (throughput && throughput.points) || [];
    const failed = points.reduce((n, p) => n + (p.failed || 0), 0);
    const finished = points.reduce((n, p) => n + (p.succeeded || 0) + (p.failed || 0), 0);
    const ready = queues.reduce((n, q) => n + (q.ready || 0), 0);
    const dead = queues.reduce((n, q) => n + (q.dead || 0), 0);
    const alive = (workers || []).filter((w) => w.alive).length;
    const card = (testid, label, value, note, href, alarm) =>
      h(
        href ? "a" : "div",
        { class: `counter${alarm ? " alarm" : ""}`, testid, href },
        h("span", { class: "label" }, label),
        h("span", { class: "value", testid: `${testid}-value` }, value),
        h("span", { class: "note" }, note),
      );
    fill(
      counters,
      card("counter-rate", "Tasks / min", fmtCount(perMinute), "finished in the last minute", "#/tasks"),
      card("counter-failures", "Failures", fmtCount(failed), finished ? `${((failed / finished) * 100).toFixed(1)} % of ${fmtCount(finished)} in the last hour` : "in the last hour", "#/tasks?state=FAILURE", failed > 0),
      card("counter-workers", "Workers alive", `${alive} / ${(workers || []).length}`, "by heartbeat", "#/workers", workers && workers.length > 0 && alive === 0),
      card("counter-ready", "Waiting", fmtCount(ready), "ready in queues", "#/queues"),
      card("counter-dead", "Dead letters", fmtCount(dead), "to retry or drop", "#/dead", dead > 0),
    );
  }

  function renderActivity() {
    const end = Date.now() / 1000;
    const start = end - WINDOW;
    const points = (throughput && throughput.points) || [];
    const bucket = (throughput && throughput.bucket) || BUCKET;
    const total = (s) => fmtCount(s.points.reduce((n, p) => n + (p.v || 0), 0));
    // Lines break where a minute had no finished task rather than dipping to 0.
    const grid = [];
    for (let t = Math.floor(start / bucket) * bucket; t <= end; t += bucket) grid.push(t);
    const byBucket = new Map(points.map((p) => [p.at, p]));
    const line = (field) => grid.map((t) => ({ t: t + bucket / 2, v: byBucket.has(t) ? byBucket.get(t)[field] ?? null : null }));
    fill(
      activity,
      timeChart({
        title: "Throughput (tasks finished per minute)",
        testid: "chart-throughput",
        kind: "bars",
        bucket,
        start,
        end,
        integer: true,
        series: [
          { name: "succeeded", cls: "c-ok", points: points.map((p) => ({ t: p.at, v: p.succeeded })) },
          { name: "failed", cls: "c-fail", points: points.map((p) => ({ t: p.at, v: p.failed })) },
        ],
        summary: total,
        emptyText: "No task finished in the last hour",
      }),
      timeChart({
        title: "Failures per minute",
        testid: "chart-failures",
        kind: "bars",
        bucket,
        start,
        end,
        integer: true,
        series: [{ name: "failed", cls: "c-fail", points: points.map((p) => ({ t: p.at, v: p.failed })) }],
        summary: total,
        emptyText: "No failure in the last hour",
      }),
      timeChart({
        title: "Latency (mean per minute)",
        testid: "chart-latency",
        kind: "lines",
        start,
        end,
        format: fmtDuration,
        series: [
          { name: "run time", cls: "c-run", points: line("mean_runtime") },
          { name: "wait before start", cls: "c-wait", points: line("mean_wait") },
        ],
        emptyText: "No task finished in the last hour",
      }),
    );
  }

  function renderDepth() {
    const end = Date.now() / 1000;
    // A page open for a short while charts what it has (at least a minute)
    // rather than a few dots at the edge of ten empty minutes.
    const first = app.samples.length ? app.samples[0].t : end;
    const start = Math.max(end - DEPTH_WINDOW, Math.min(first, end - 60));
    const samples = app.samples.filter((s) => s.t >= start);
    const peak = new Map();
    for (const s of samples) {
      for (const [name, q] of Object.entries(s.q)) {
        peak.set(name, Math.max(peak.get(name) || 0, (q.ready || 0) + (q.in_flight || 0)));
      }
    }
    const names = [...peak.keys()].sort((a, b) => peak.get(b) - peak.get(a) || a.localeCompare(b)).slice(0, DEPTH_QUEUES);
    const series = names.map((name, i) => ({
      name,
      cls: `c${i}`,
      points: samples.map((s) => ({ t: s.t, v: s.q[name] ? s.q[name].ready : null })),
    }));
    fill(
      depth,
      timeChart({
        title: "Queue depth (messages ready), sampled every 3 s while this page is open",
        testid: "chart-queues",
        kind: "lines",
        start,
        end,
        integer: true,
        width: 1240,
        height: 170,
        series,
        summary: (s) => {
          const last = [...s.points].reverse().find((p) => p.v !== null);
          return last ? fmtCount(last.v) : "";
        },
        emptyText: samples.length ? "No queue in use yet" : "Collecting samples…",
      }),
    );
  }

  return {
    el,
    refresh,
    wants: (e) => e.type === "task-succeeded" || e.type === "task-failed" || e.type === "worker-online" || e.type === "worker-offline",
    // Each new sample moves the depth chart and the counters along.
    onQueues() {
      if (throughput) {
        renderCounters();
        renderDepth();
      }
    },
  };
}
