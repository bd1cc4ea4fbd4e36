// Workers (#/workers) and queues (#/queues, with pause and resume).

import { get, isAdmin, post } from "./api.js";
import { actionButton, ago, dash, emptyRow, fill, fmtCount, h, section, toDate, timeCell } from "./dom.js";

/** Every worker heard from, alive ones first. */
export function workersView(app) {
  const tbody = h("tbody", { testid: "workers-body" });
  const summary = h("p", { class: "muted", testid: "workers-summary" });
  const el = h(
    "div",
    { class: "view", testid: "view-workers" },
    section(
      "Workers",
      "workers-panel",
      summary,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "table", testid: "workers-table" },
          h("thead", null, h("tr", null, ["Status", "Hostname", "Concurrency", "Active", "Processed", "Held", "Last heartbeat", "Queues", "Software", "Load"].map((c) => h("th", null, c)))),
          tbody,
        ),
      ),
    ),
  );

  async function refresh() {
    const data = await get("api/workers");
    const workers = (data.workers || []).slice().sort((a, b) => Number(b.alive) - Number(a.alive) || String(a.hostname).localeCompare(String(b.hostname)));
    const alive = workers.filter((w) => w.alive).length;
    summary.textContent = `${alive} alive, ${workers.length - alive} offline. A worker is offline when it has missed two heartbeats or said goodbye.`;
    fill(tbody, workers.length ? workers.map(workerRow) : emptyRow(10, "No worker has been heard from yet.", "workers-empty"));
  }

  return { el, refresh, wants: (e) => e.type.startsWith("worker-") };
}

function list(value) {
  if (Array.isArray(value)) return value.map((v) => (typeof v === "object" && v !== null ? v.name ?? JSON.stringify(v) : String(v))).join(", ");
  return value === null || value === undefined ? "" : String(value);
}

function workerRow(w) {
  const heartbeat = toDate(w.last_heartbeat);
  const load = Array.isArray(w.loadavg) ? w.loadavg.map((n) => (typeof n === "number" ? n.toFixed(2) : String(n))).join(" ") : "";
  return h(
    "tr",
    { testid: "worker-row", dataset: { hostname: w.hostname, alive: String(Boolean(w.alive)) } },
    h("td", null, h("span", { class: `badge ${w.alive ? "alive" : "offline"}`, testid: "worker-status" }, w.alive ? "alive" : "offline")),
    h("td", null, h("a", { href: `#/tasks?worker=${encodeURIComponent(w.hostname)}`, title: w.worker_id || "" }, w.hostname)),
    h("td", { class: "num" }, w.concurrency ?? "—"),
    h("td", { class: "num" }, w.active ?? "—"),
    h("td", { class: "num" }, w.processed === null || w.processed === undefined ? "—" : fmtCount(w.processed)),
    h("td", { class: "num" }, w.held ?? "—"),
    h("td", null, timeCell(w.last_heartbeat), heartbeat ? h("span", { class: "muted small" }, ` ${ago(heartbeat)}`) : null),
    h("td", null, list(w.queues) || dash()),
    h("td", { class: "small" }, w.software || dash()),
    h("td", { class: "mono small" }, load || dash()),
  );
}

/** Queue depths and rates, with pause and resume for admins. */
export function queuesView(app) {
  const tbody = h("tbody", { testid: "queues-body" });
  const el = h(
    "div",
    { class: "view", testid: "view-queues" },
    section(
      "Queues",
      "queues-panel",
      h("p", { class: "muted" }, "Workers take nothing from a paused queue; messages wait there until it is resumed. Rates count tasks finished in the last minute."),
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "table", testid: "queues-table" },
          h("thead", null, h("tr", null, ["Queue", "State", "Ready", "In flight", "Delayed", "Dead", "Succeeded / min", "Failed / min", ""].map((c) => h("th", null, c)))),
          tbody,
        ),
      ),
    ),
  );

  function render(queues) {
    fill(tbody, queues.length ? queues.map((q) => queueRow(app, q)) : emptyRow(9, "No queue has been used yet.", "queues-empty"));
  }

  return {
    el,
    // The samples the page takes anyway are this view's data.
    refresh: async () => render(await app.sampleQueues()),
    onQueues: render,
  };
}

function queueRow(app, q) {
  const toggle = isAdmin()
    ? actionButton(q.paused ? "Resume" : "Pause", { testid: "queue-toggle", class: q.paused ? "primary" : "" }, async () => {
        const verb = q.paused ? "resume" : "pause";
        try {
          await post(`api/queues/${encodeURIComponent(q.name)}/${verb}`);
          app.notify(q.paused ? `Queue ${q.name} resumed.` : `Queue ${q.name} paused: workers take nothing from it.`);
        } catch (e) {
          app.notify(`Could not ${verb} ${q.name}: ${e.message}`, "error");
        }
        await app.sampleQueues();
      })
    : null;
  return h(
    "tr",
    { testid: "queue-row", dataset: { queue: q.name, paused: String(Boolean(q.paused)) } },
    h("td", null, h("a", { href: `#/tasks?queue=${encodeURIComponent(q.name)}`, testid: "queue-name" }, q.name)),
    h("td", null, h("span", { class: `badge ${q.paused ? "paused" : "active"}`, testid: "queue-state" }, q.paused ? "Paused" : "Active")),
    h("td", { class: "num" }, fmtCount(q.ready)),
    h("td", { class: "num" }, fmtCount(q.in_flight)),
    h("td", { class: "num" }, fmtCount(q.delayed)),
    h("td", { class: "num" }, q.dead ? h("a", { href: `#/dead?queue=${encodeURIComponent(q.name)}` }, fmtCount(q.dead)) : "0"),
    h("td", { class: "num" }, fmtCount(q.succeeded_last_minute)),
    h("td", { class: `num${q.failed_last_minute ? " error-text" : ""}` }, fmtCount(q.failed_last_minute)),
    h("td", { class: "actions" }, toggle),
  );
}
