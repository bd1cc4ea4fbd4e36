// Dead letters (#/dead, #/dead?queue=…): why each died, its payload, and
// retry or drop, one by one or all at once.

import { get, isAdmin, post } from "./api.js";
import { actionButton, clipped, dash, emptyRow, fill, fmtBytes, h, section, taskLink, timeCell } from "./dom.js";

const LIMIT = 500;

export function deadView(app, initialRoute) {
  let queue = initialRoute.params.get("queue") || "";
  let lastTotal = null;

  const queueSelect = h("select", { testid: "dead-queue", "aria-label": "Queue" });
  queueSelect.addEventListener("change", () => {
    const value = queueSelect.value;
    history.replaceState(null, "", value ? `#/dead?queue=${encodeURIComponent(value)}` : "#/dead");
    update({ params: new URLSearchParams(value ? { queue: value } : {}) });
  });
  const total = h("span", { class: "muted", testid: "dead-total" });
  const retryAll = isAdmin()
    ? actionButton("Retry all", { testid: "dead-retry-all", class: "primary" }, async () => {
        const what = queue ? `every dead letter of queue ${queue}` : "every dead letter";
        if (!window.confirm(`Put ${what} back on its queue?`)) return;
        await act("retry", queue ? { queue } : { all: true }, (r) => `Retried ${r.retried} dead letter${r.retried === 1 ? "" : "s"}.`);
      })
    : null;
  const tbody = h("tbody", { testid: "dead-body" });
  const el = h(
    "div",
    { class: "view", testid: "view-dead" },
    section(
      "Dead letters",
      "dead-panel",
      h("p", { class: "muted" }, "Messages that failed for good, or were delivered too often. Retry puts one back on its queue, ready now; drop deletes it."),
      h("div", { class: "toolbar" }, queueSelect, total, h("span", { class: "spacer" }), retryAll),
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "table dead", testid: "dead-table" },
          h("thead", null, h("tr", null, ["Died", "Queue", "Task", "Reason", "Deliveries", "Payload", ""].map((c) => h("th", null, c)))),
          tbody,
        ),
      ),
    ),
  );

  function syncQueues() {
    const names = new Set((app.latestQueues || []).filter((q) => q.dead > 0).map((q) => q.name));
    if (queue) names.add(queue);
    const key = JSON.stringify([...names].sort());
    if (queueSelect.dataset.options !== key) {
      fill(queueSelect, h("option", { value: "" }, "all queues"), [...names].sort().map((n) => h("option", { value: n }, n)));
      queueSelect.dataset.options = key;
    }
    queueSelect.value = queue;
  }

  async function act(verb, selector, message) {
    try {
      const result = await post(`api/dead/${verb}`, selector);
      app.notify(message(result));
    } catch (e) {
      app.notify(`Could not ${verb}: ${e.message}`, "error");
    }
    await app.sampleQueues();
    app.requestRefresh();
  }

  function deadRow(d) {
    const actions = isAdmin()
      ? [
          actionButton("Retry", { testid: "dead-retry", title: "Back on its queue, ready now" }, () =>
            act("retry", { id: d.id }, (r) => (r.retried ? `Retried: back on queue ${d.queue}.` : "Nothing to retry: it was already gone."))),
          actionButton("Drop", { testid: "dead-drop", class: "danger", title: "Delete it for good" }, async () => {
            if (window.confirm("Delete this dead letter for good?")) {
              await act("drop", { id: d.id }, (r) => (r.dropped ? "Dropped." : "Nothing to drop: it was already gone."));
            }
          }),
        ]
      : null;
    return h(
      "tr",
      { testid: "dead-row", dataset: { deadId: d.id, taskId: d.task_id || "", deadAt: d.dead_at } },
      h("td", { class: "nowrap" }, timeCell(d.dead_at)),
      h("td", null, d.queue),
      h("td", null, d.task_id ? taskLink(d.task_id) : dash()),
      h("td", { class: "reason" }, clipped(d.reason, 120, { testid: "dead-reason" })),
      h("td", { class: "num" }, String(d.deliveries)),
      h("td", { class: "payload" }, payload(d)),
      h("td", { class: "actions nowrap" }, actions),
    );
  }

  async function refresh() {
    syncQueues();
    const data = await get("api/dead", { queue, limit: LIMIT });
    const dead = data.dead || [];
    total.textContent = `${dead.length}${dead.length >= LIMIT ? "+" : ""} dead letter${dead.length === 1 ? "" : "s"}${queue ? ` in ${queue}` : ""}`;
    total.dataset.count = String(dead.length);
    // Newest first: the one that just died is the one to look at.
    dead.sort((a, b) => String(b.dead_at).localeCompare(String(a.dead_at)));
    fill(tbody, dead.length ? dead.map(deadRow) : emptyRow(7, "No dead letters.", "dead-empty"));
  }

  function update(r) {
    queue = r.params.get("queue") || "";
    app.requestRefresh();
  }

  return {
    el,
    refresh,
    update,
    wants: (e) => e.type === "task-failed" || e.type === "task-rejected" || e.type === "task-received",
    // A message can die without an event (too many deliveries): the
    // sampled dead counts catch that.
    onQueues(queues) {
      const count = queues.reduce((n, q) => n + (q.dead || 0), 0);
      if (lastTotal !== null && count !== lastTotal) app.requestRefresh();
      lastTotal = count;
    },
  };
}

/** The start of the raw message, pretty-printed when it is whole JSON,
 * with a base64 body (Celery's envelope on Redis) decoded beside it. */
function payload(d) {
  const preview = d.payload_preview || "";
  let text = preview;
  let decoded = null;
  if (d.size <= preview.length) {
    try {
      const message = JSON.parse(preview);
      text = JSON.stringify(message, null, 2);
      decoded = decodeBody(message);
    } catch {
      // Not JSON, or cut short: shown as it is.
    }
  }
  const cut = d.size > preview.length;
  return h(
    "details",
    { testid: "dead-payload" },
    h("summary", null, `${fmtBytes(d.size)}${cut ? " (start shown)" : ""}`),
    decoded !== null ? [h("h3", null, "body, decoded"), h("pre", { testid: "dead-body" }, decoded)] : null,
    decoded !== null ? h("h3", null, "message") : null,
    h("pre", null, text),
  );
}

/** The task's arguments from an envelope whose body is base64 JSON, or null. */
function decodeBody(message) {
  const encoding = message && message.properties && message.properties.body_encoding;
  if (encoding !== "base64" || typeof message.body !== "string") return null;
  try {
    const bytes = Uint8Array.from(atob(message.body), (c) => c.charCodeAt(0));
    const body = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    try {
      return JSON.stringify(JSON.parse(body), null, 2);
    } catch {
      return body;
    }
  } catch {
    return null;
  }
}
