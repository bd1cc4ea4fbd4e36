// Tasks: the filtered, paged list (#/tasks?state=…) and one task's detail
// (#/task/<id>) with its timeline, revoke and terminate.

import { get, isAdmin, post } from "./api.js";
import {
  actionButton, clipped, dash, emptyRow, fill, fmtDuration, fmtTime, h, jsonText, route, section, stateBadge, taskLink, timeCell,
} from "./dom.js";

const PAGE_SIZE = 50;
const STATES = ["PENDING", "RECEIVED", "STARTED", "SUCCESS", "FAILURE", "RETRY", "REVOKED", "REJECTED"];
const READY_STATES = new Set(["SUCCESS", "FAILURE", "REVOKED", "REJECTED"]);
/** Time ranges offered, in seconds back from now. */
const RANGES = [
  ["all", "any time", null],
  ["15m", "last 15 min", 900],
  ["1h", "last hour", 3600],
  ["24h", "last 24 h", 86400],
  ["7d", "last 7 days", 604800],
  ["custom", "between…", null],
];
const FILTER_KEYS = ["search", "state", "name", "queue", "worker", "range", "from", "to"];

/** `datetime-local` text as unix seconds, or null. */
function localToUnix(text) {
  if (!text) return null;
  const t = new Date(text).getTime();
  return Number.isNaN(t) ? null : t / 1000;
}

/** The list's query for /api/tasks from the hash's filters. */
function apiQuery(filters) {
  const q = { search: filters.search, state: filters.state, name: filters.name, queue: filters.queue, worker: filters.worker };
  const range = RANGES.find((r) => r[0] === filters.range);
  if (range && range[2]) q.since = Date.now() / 1000 - range[2];
  if (filters.range === "custom") {
    q.since = localToUnix(filters.from);
    q.until = localToUnix(filters.to);
  }
  return q;
}

function filtersFrom(params) {
  const f = {};
  for (const k of FILTER_KEYS) f[k] = params.get(k) || "";
  return f;
}

/** The task list with its filters and pager. */
export function tasksView(app, initialRoute) {
  let filters = filtersFrom(initialRoute.params);
  // `after` cursors of the pages seen so far; the first page has none.
  let cursors = [null];
  let page = 0;
  let next = null;
  const seenNames = new Set(app.info.submit_allowlist || []);
  let workerNames = [];

  const field = (key, control) => {
    control.name = key;
    control.addEventListener("change", () => setFilter(key, control.value));
    return control;
  };
  const search = h("input", { type: "search", placeholder: "Search id or name…", testid: "filter-search", value: filters.search, "aria-label": "Search" });
  let searchTimer = null;
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => setFilter("search", search.value.trim()), 300);
  });
  const state = field("state", h("select", { testid: "filter-state", "aria-label": "State" }, h("option", { value: "" }, "any state"), STATES.map((s) => h("option", { value: s }, s))));
  const namesList = h("datalist", { id: "task-names" });
  const name = field("name", h("input", { type: "text", list: "task-names", placeholder: "task name", testid: "filter-name", "aria-label": "Task name", autocomplete: "off" }));
  const queue = field("queue", h("select", { testid: "filter-queue", "aria-label": "Queue" }));
  const worker = field("worker", h("select", { testid: "filter-worker", "aria-label": "Worker" }));
  const range = field("range", h("select", { testid: "filter-range", "aria-label": "Time range" }, RANGES.map(([v, label]) => h("option", { value: v === "all" ? "" : v }, label))));
  const from = field("from", h("input", { type: "datetime-local", testid: "filter-from", "aria-label": "From", step: "1" }));
  const to = field("to", h("input", { type: "datetime-local", testid: "filter-to", "aria-label": "Until", step: "1" }));
  const custom = h("span", { class: "custom-range" }, from, "–", to);
  const clear = h("button", { type: "button", testid: "filter-clear", onclick: () => setFilters({}) }, "Clear");
  const form = h("form", { class: "filters", testid: "task-filters", onsubmit: (e) => e.preventDefault() }, search, state, name, namesList, queue, worker, range, custom, clear);

  const tbody = h("tbody", { testid: "tasks-body" });
  const table = h(
    "table",
    { class: "table tasks", testid: "tasks-table" },
    h("thead", null, h("tr", null, ["State", "Name", "Task id", "Queue", "Worker", "Retries", "Received", "Run time", "Result or error"].map((c) => h("th", null, c)))),
    tbody,
  );
  const newer = h("button", { type: "button", testid: "page-newer", onclick: () => goPage(page - 1) }, "← Newer");
  const older = h("button", { type: "button", testid: "page-older", onclick: () => goPage(page + 1) }, "Older →");
  const pageLabel = h("span", { class: "muted", testid: "page-label" });
  const pager = h("div", { class: "pager" }, newer, pageLabel, older);
  const el = h("div", { class: "view", testid: "view-tasks" }, form, h("div", { class: "table-wrap" }, table), pager);

  function syncForm() {
    search.value = filters.search;
    state.value = filters.state;
    name.value = filters.name;
    range.value = filters.range;
    from.value = filters.from;
    to.value = filters.to;
    custom.hidden = filters.range !== "custom";
    fillSelect(queue, "any queue", (app.latestQueues || []).map((q) => q.name), filters.queue);
    fillSelect(worker, "any worker", workerNames, filters.worker);
    fill(namesList, [...seenNames].sort().map((n) => h("option", { value: n })));
  }

  function setFilter(key, value) {
    setFilters({ ...filters, [key]: value });
  }

  function setFilters(next) {
    const params = new URLSearchParams();
    for (const k of FILTER_KEYS) if (next[k]) params.set(k, next[k]);
    const qs = params.toString();
    // Filters are part of the link (shareable) but not each a history step.
    history.replaceState(null, "", qs ? `#/tasks?${qs}` : "#/tasks");
    update({ params });
  }

  function update(r) {
    filters = filtersFrom(r.params);
    cursors = [null];
    page = 0;
    syncForm();
    app.requestRefresh();
  }

  function goPage(n) {
    if (n < 0 || (n > page && next === null)) return;
    if (n > page) cursors[n] = next;
    page = n;
    app.requestRefresh();
  }

  async function refresh() {
    if (!workerNames.length) {
      get("api/workers").then((w) => {
        workerNames = (w.workers || []).map((x) => x.hostname).sort();
        fillSelect(worker, "any worker", workerNames, filters.worker);
      }, () => {});
    }
    const data = await get("api/tasks", { ...apiQuery(filters), limit: PAGE_SIZE, after: cursors[page] });
    next = data.next ?? null;
    const tasks = data.tasks || [];
    for (const t of tasks) if (t.name) seenNames.add(t.name);
    fill(tbody, tasks.length ? tasks.map(row) : emptyRow(9, page === 0 ? "No task matches these filters." : "No older tasks.", "tasks-empty"));
    newer.disabled = page === 0;
    older.disabled = next === null;
    pageLabel.textContent = `page ${page + 1} · ${tasks.length} task${tasks.length === 1 ? "" : "s"}`;
    syncForm();
  }

  syncForm();
  return { el, refresh, update, wants: (e) => e.type.startsWith("task-") };
}

function fillSelect(select, anyLabel, values, selected) {
  const all = [...new Set([...values, ...(selected ? [selected] : [])])];
  // Rebuilt only when the choices change: a rebuild closes an open list.
  const key = JSON.stringify(all);
  if (select.dataset.options !== key) {
    fill(select, h("option", { value: "" }, anyLabel), all.map((v) => h("option", { value: v }, v)));
    select.dataset.options = key;
  }
  select.value = selected || "";
}

function row(t) {
  const open = () => {
    location.hash = route("task", t.id);
  };
  let outcome = dash();
  if (t.exception) outcome = clipped(t.exception, 70, { class: "error-text", testid: "task-outcome" });
  else if (t.result !== null && t.result !== undefined) outcome = clipped(t.result, 70, { class: "mono", testid: "task-outcome" });
  return h(
    "tr",
    { class: "clickable", testid: "task-row", dataset: { taskId: t.id, state: t.state }, onclick: open },
    h("td", null, stateBadge(t.state)),
    h("td", { class: "name" }, t.name ? clipped(t.name, 40, { testid: "task-name" }) : dash()),
    h("td", null, taskLink(t.id)),
    h("td", null, t.queue || dash()),
    h("td", null, t.worker ? clipped(t.worker, 30) : dash()),
    h("td", { class: "num" }, String(t.retries ?? 0)),
    h("td", null, timeCell(t.received_at ?? t.updated_at)),
    h("td", { class: "num" }, fmtDuration(t.runtime)),
    h("td", { class: "outcome" }, outcome),
  );
}

// ---------------------------------------------------------------- detail

/** Fields of a timeline entry that its other columns already show. */
const TIMELINE_SKIP = new Set(["uuid", "type", "timestamp", "hostname", "utcoffset", "pid", "clock", "local_received"]);

/** One task: fields, arguments, result or error, family, timeline. */
export function taskDetailView(app, id) {
  const el = h("div", { class: "view detail", testid: "view-task", dataset: { taskId: id } });
  let detail = null;

  async function refresh() {
    try {
      detail = await get(`api/tasks/${encodeURIComponent(id)}`);
    } catch (e) {
      if (e.status === 404) {
        fill(el, back(), section("Unknown task", "task-missing", h("p", null, "Neither the history nor the result store knows a task ", h("code", null, id), ".")));
        return;
      }
      throw e;
    }
    render();
  }

  function render() {
    const d = detail;
    const stored = d.stored || null;
    el.dataset.state = d.state;
    const actions = h("div", { class: "actions" });
    if (isAdmin() && !READY_STATES.has(d.state)) {
      actions.append(
        actionButton("Revoke", { testid: "task-revoke", title: "If it has not started, it will not run" }, async () => {
          await act(false);
        }),
        actionButton("Terminate", { testid: "task-terminate", class: "danger", title: "Stop it, even if it is running" }, async () => {
          if (window.confirm("Terminate this task? A running task is stopped.")) await act(true);
        }),
      );
    }

    const fields = [
      ["State", stateBadge(d.state)],
      ["Name", d.name || dash()],
      ["Queue", d.queue ? h("a", { href: `#/tasks?queue=${encodeURIComponent(d.queue)}` }, d.queue) : dash()],
      ["Worker", d.worker ? h("a", { href: `#/tasks?worker=${encodeURIComponent(d.worker)}` }, d.worker) : dash()],
      ["Retries", String(d.retries ?? 0)],
      ["Received", fmtTime(d.received_at, true)],
      ["Started", fmtTime(d.started_at, true)],
      ["Finished", fmtTime(d.finished_at ?? (stored && stored.date_done), true)],
      ["Run time", fmtDuration(d.runtime)],
      ["Wait before start", fmtDuration(d.queue_wait)],
      ["ETA", d.eta || dash()],
      ["Expires", d.expires || dash()],
    ];
    const grid = h("dl", { class: "fields", testid: "task-fields" }, fields.map(([k, v]) => [h("dt", null, k), h("dd", { dataset: { field: k.toLowerCase() } }, v)]));

    let result = null;
    if (stored && stored.state === "SUCCESS") result = jsonText(stored.result);
    else if (d.result !== null && d.result !== undefined) result = d.result;
    const exc = d.exception || (stored && stored.state === "FAILURE" ? storedException(stored.result) : null);
    const traceback = d.traceback || (stored && stored.traceback) || null;

    const children = d.children && d.children.length ? d.children : (stored && Array.isArray(stored.children) ? stored.children.map(childId).filter(Boolean) : []);
    const family = h(
      "dl",
      { class: "fields", testid: "task-family" },
      h("dt", null, "Parent"), h("dd", { testid: "task-parent" }, d.parent_id ? taskLink(d.parent_id, true) : dash()),
      h("dt", null, "Workflow root"), h("dd", null, d.root_id && d.root_id !== id ? taskLink(d.root_id, true) : d.root_id ? "this task" : dash()),
      h("dt", null, "Children"), h("dd", { testid: "task-children" }, children.length ? h("ul", { class: "links" }, children.map((c) => h("li", null, taskLink(c, true)))) : dash()),
    );

    fill(
      el,
      back(),
      h(
        "div",
        { class: "detail-head" },
        h("h1", null, d.name || "Task", " ", stateBadge(d.state)),
        h("code", { class: "task-id", testid: "task-id" }, d.id || id),
        actions,
      ),
      h(
        "div",
        { class: "detail-grid" },
        section("Details", "task-details", grid),
        section("Arguments", "task-arguments",
          h("h3", null, "args"), h("pre", { testid: "task-args" }, d.args ?? "—"),
          h("h3", null, "kwargs"), h("pre", { testid: "task-kwargs" }, d.kwargs ?? "—")),
      ),
      result !== null ? section("Result", "task-result-panel", h("pre", { class: "result", testid: "task-result" }, result)) : null,
      exc || traceback
        ? section("Error", "task-error", exc ? h("p", { class: "error-text", testid: "task-exception" }, exc) : null, traceback ? h("pre", { class: "traceback", testid: "task-traceback" }, traceback) : null)
        : null,
      section("Workflow", "task-workflow", family),
      section("Timeline", "task-timeline-panel", timeline(d.timeline || [])),
    );
  }

  async function act(terminate) {
    try {
      await post(`api/tasks/${encodeURIComponent(id)}/revoke`, { terminate });
      app.notify(terminate ? "Terminate sent: the worker running it stops it." : "Revoked: it will not run.");
      app.requestRefresh();
    } catch (e) {
      app.notify(`Could not revoke: ${e.message}`, "error");
    }
  }

  return { el, refresh, wants: (e) => e.uuid === id || (e.type === "task-sent" && e.parent_id === id) };
}

function back() {
  return h("a", { class: "back", href: "#/tasks", testid: "back-to-tasks" }, "← Tasks");
}

/** A stored failure's `{exc_type, exc_message}` as one line. */
function storedException(result) {
  if (!result || typeof result !== "object") return result ? String(result) : null;
  const message = Array.isArray(result.exc_message) ? result.exc_message.join(", ") : result.exc_message;
  return result.exc_type ? `${result.exc_type}: ${message ?? ""}` : jsonText(result);
}

/** Children in a stored result are Celery's nested tuples or plain ids. */
function childId(c) {
  if (typeof c === "string") return c;
  if (Array.isArray(c) && Array.isArray(c[0])) return typeof c[0][0] === "string" ? c[0][0] : null;
  return null;
}

function timeline(entries) {
  if (!entries.length) return h("p", { class: "muted", testid: "task-timeline" }, "No event recorded for this task.");
  const first = entries[0].at;
  return h(
    "table",
    { class: "table timeline", testid: "task-timeline" },
    h("thead", null, h("tr", null, ["Time", "+", "Event", "From", "Fields"].map((c) => h("th", null, c)))),
    h(
      "tbody",
      null,
      entries.map((e) => {
        const rest = {};
        if (e.fields && typeof e.fields === "object") {
          for (const [k, v] of Object.entries(e.fields)) if (!TIMELINE_SKIP.has(k) && v !== null && v !== "") rest[k] = v;
        }
        const text = Object.keys(rest).length ? JSON.stringify(rest) : "";
        return h(
          "tr",
          { testid: "timeline-row", dataset: { type: e.type } },
          h("td", { class: "nowrap" }, fmtTime(e.at, true)),
          h("td", { class: "num muted" }, e.at - first > 0 ? `+${fmtDuration(e.at - first)}` : ""),
          h("td", null, h("span", { class: `event ev-${String(e.type).replace(/[^a-z-]/g, "")}` }, e.type)),
          h("td", null, clipped(e.hostname || "", 30)),
          h("td", { class: "mono small" }, clipped(text, 140)),
        );
      }),
    ),
  );
}
