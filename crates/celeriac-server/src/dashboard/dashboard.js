// The dashboard's entry module: sign-in, the header, hash routing between
// the views, and live updates (server-sent events, with polling as the
// fallback, and queue depths sampled every few seconds).

import { ApiError, call, currentSession, del, get, isAdmin, onUnauthorized, setSession } from "./api.js";
import { fill, h } from "./dom.js";
import { overviewView } from "./overview.js";
import { taskDetailView, tasksView } from "./tasks.js";
import { queuesView, workersView } from "./fleet.js";
import { deadView } from "./dead.js";
import { setupSubmit } from "./submit.js";

/** At most one refresh of the visible view per this many ms. */
const REFRESH_SPACING_MS = 500;
/** Polling when the event stream is down. */
const POLL_MS = 5000;
/** Queue depths are sampled this often for the chart. */
const SAMPLE_MS = 3000;
/** Samples kept: 10 minutes. */
const SAMPLES_KEPT = 200;
const SAMPLES_KEY = "celeriac.queueSamples";

/** Event types the server streams (Celery's), each needing its own listener. */
const EVENT_TYPES = [
  "task-sent", "task-received", "task-started", "task-succeeded", "task-failed",
  "task-retried", "task-revoked", "task-rejected",
  "worker-online", "worker-heartbeat", "worker-offline",
];

const $ = (id) => document.getElementById(id);
const main = $("main");
const tabs = $("tabs");
const liveBadge = $("live");
const flash = $("flash");

/** What the views share: server info, queue samples, refresh and messages. */
const app = {
  info: null,
  samples: [],
  latestQueues: null,
  requestRefresh,
  sampleQueues,
  notify,
};

let current = null; // {key, view}
let submit = null;
let events = null;
let eventsRetry = null;
let timers = [];

onUnauthorized(() => {
  if (currentSession()) {
    setSession(null);
    showSignIn("Your session has ended: sign in again.");
  }
});

window.addEventListener("hashchange", () => {
  if (currentSession() && app.info) showRoute();
});

start();

async function start() {
  try {
    setSession(await get("api/session", null, { quiet401: true }));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return showSignIn();
    return showFatal(e);
  }
  await enterApp();
}

function showFatal(error) {
  stopLive();
  tabs.hidden = true;
  fill(main, h("section", { class: "panel", testid: "fatal" }, h("h2", null, "The dashboard cannot load"), h("p", { class: "error" }, String(error.message || error))));
}

// ---------------------------------------------------------------- sign-in

function showSignIn(message) {
  stopLive();
  app.info = null;
  current = null;
  tabs.hidden = true;
  $("submit-open").hidden = true;
  $("open-note").hidden = true;
  fill($("who"));
  fill($("apps"));
  fill($("server-meta"));
  document.title = "Celeriac · Sign in";

  const input = h("input", { type: "password", name: "token", id: "signin-token", testid: "signin-token", autocomplete: "current-password", required: true, spellcheck: "false" });
  const error = h("p", { class: "error", testid: "signin-error" }, message || "");
  const button = h("button", { type: "submit", class: "primary", testid: "signin-submit" }, "Sign in");
  const form = h(
    "form",
    { class: "panel signin", testid: "signin-form" },
    h("h1", null, "Sign in"),
    h("p", { class: "muted" }, "Use an API token this server was started with (", h("code", null, "--api-token"), "). Read-only tokens can look; admin tokens can also send, retry and pause."),
    h("label", { for: "signin-token" }, "API token"),
    input,
    error,
    button,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    fill(error);
    try {
      const signed = await call("POST", "api/session", { token: input.value }, { quiet401: true });
      setSession({ role: signed.role, csrf_token: signed.csrf_token, method: "session", open: false });
      input.value = "";
      await enterApp();
    } catch (e) {
      if (e.status === 409) {
        // Open mode: there is nothing to sign in to.
        return start();
      }
      fill(error, e.status === 401 ? "That token is not valid for this server." : String(e.message));
      button.disabled = false;
      input.focus();
    }
  });
  fill(main, form);
  input.focus();
}

async function signOut() {
  try {
    await del("api/session");
  } catch (e) {
    notify(`Sign-out failed: ${e.message}`, "error");
    return;
  }
  setSession(null);
  showSignIn("Signed out.");
}

// ---------------------------------------------------------------- the app

async function enterApp() {
  try {
    app.info = await get("api/info");
  } catch (e) {
    if (e.status !== 401) showFatal(e);
    return;
  }
  renderHeader();
  tabs.hidden = false;
  submit = submit || setupSubmit(app);
  submit.configure();
  restoreSamples();
  startLive();
  current = null;
  showRoute();
}

function renderHeader() {
  const info = app.info;
  const session = currentSession();
  fill(
    $("server-meta"),
    h("span", { testid: "version" }, `v${info.version}`),
    " · ",
    h("span", { title: `${info.broker_kind} broker, ${info.results} results` }, "broker ", h("code", { testid: "broker" }, info.broker)),
    info.worker ? h("span", { class: "muted" }, ` · worker ${info.worker.id} (${info.worker.concurrency} slots)`) : null,
  );
  fill(
    $("apps"),
    (info.apps || [])
      // Only paths on this server: the list comes from configuration, but a
      // link must never become `javascript:` or another site.
      .filter((a) => typeof a.path === "string" && a.path.startsWith("/") && !a.path.startsWith("//"))
      .map((a) => h("a", { href: a.path, title: a.description, testid: "app-link" }, `${a.title} →`)),
  );
  const role = session.role === "admin" ? "admin" : "read-only";
  fill(
    $("who"),
    h("span", { class: `badge role-${role}`, testid: "role", title: `signed in by ${session.method}` }, role),
    session.method === "session" ? h("button", { type: "button", testid: "signout", onclick: signOut }, "Sign out") : null,
  );
  $("open-note").hidden = !session.open;
  $("submit-open").hidden = !(isAdmin() && (info.submit_allowlist || []).length > 0);
}

// ---------------------------------------------------------------- routing

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const q = raw.indexOf("?");
  const path = q >= 0 ? raw.slice(0, q) : raw;
  const parts = path.split("/");
  let arg = "";
  try {
    arg = decodeURIComponent(parts.slice(1).join("/"));
  } catch {
    arg = parts.slice(1).join("/");
  }
  return { view: parts[0] || "overview", arg, params: new URLSearchParams(q >= 0 ? raw.slice(q + 1) : "") };
}

const VIEWS = {
  overview: { title: "Overview", make: () => overviewView(app) },
  tasks: { title: "Tasks", make: (r) => tasksView(app, r) },
  task: { title: "Task", tab: "tasks", make: (r) => taskDetailView(app, r.arg) },
  workers: { title: "Workers", make: () => workersView(app) },
  queues: { title: "Queues", make: () => queuesView(app) },
  dead: { title: "Dead letters", make: (r) => deadView(app, r) },
};

function showRoute() {
  const r = parseHash();
  const name = VIEWS[r.view] ? r.view : "overview";
  const spec = VIEWS[name];
  // Views that take parameters (filters) update in place when only those change.
  const key = name === "task" ? `task:${r.arg}` : name;
  if (current && current.key === key && current.view.update) {
    current.view.update(r);
    return;
  }
  if (current && current.view.destroy) current.view.destroy();
  const view = spec.make(r);
  current = { key, view };
  fill(main, view.el);
  for (const a of tabs.querySelectorAll("a[data-view]")) {
    a.classList.toggle("active", a.dataset.view === (spec.tab || name));
  }
  document.title = `Celeriac · ${spec.title}`;
  runRefresh();
}

// ---------------------------------------------------------------- refresh

let refreshTimer = null;
let refreshing = false;
let refreshAgain = false;
let lastRefresh = 0;

/** Refreshes the visible view soon, at most once per REFRESH_SPACING_MS. */
function requestRefresh() {
  if (refreshTimer) return;
  const wait = Math.max(0, lastRefresh + REFRESH_SPACING_MS - Date.now());
  refreshTimer = setTimeout(runRefresh, wait);
}

async function runRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = null;
  if (!current) return;
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = true;
  lastRefresh = Date.now();
  const view = current.view;
  try {
    await view.refresh();
    if (view.el) view.el.dataset.loaded = "true";
    // Whatever changed the view may have changed the dead-letter count in
    // the tabs too; don't wait for the next sample.
    if (Date.now() - lastSample > 1000) sampleQueues();
  } catch (e) {
    if (e.status !== 401) notify(`Could not refresh: ${e.message}`, "error");
  } finally {
    refreshing = false;
    if (refreshAgain) {
      refreshAgain = false;
      requestRefresh();
    }
  }
}

// ---------------------------------------------------------------- live

function setLive(state, text) {
  liveBadge.dataset.state = state;
  liveBadge.textContent = text;
}

function startLive() {
  stopLive();
  openEvents();
  timers.push(setInterval(() => {
    // The fallback: without the stream, nothing else tells us of changes.
    if (!events || events.readyState !== EventSource.OPEN) requestRefresh();
  }, POLL_MS));
  timers.push(setInterval(sampleQueues, SAMPLE_MS));
  sampleQueues();
}

function stopLive() {
  for (const t of timers) clearInterval(t);
  timers = [];
  clearTimeout(eventsRetry);
  if (events) events.close();
  events = null;
  setLive("off", "offline");
}

function openEvents() {
  if (typeof EventSource === "undefined") {
    setLive("polling", "polling");
    return;
  }
  const source = new EventSource("api/events");
  events = source;
  setLive("connecting", "connecting…");
  source.addEventListener("open", () => {
    setLive("live", "live");
    // Whatever happened while disconnected was not streamed to us.
    requestRefresh();
  });
  source.addEventListener("error", () => {
    setLive("polling", "polling every 5 s");
    if (source.readyState === EventSource.CLOSED) {
      // The server refused the stream (signed out, or no event bus): the
      // browser will not retry by itself, so try again later.
      clearTimeout(eventsRetry);
      eventsRetry = setTimeout(() => {
        if (events === source && currentSession()) openEvents();
      }, 15000);
    }
  });
  const onEvent = (message) => {
    let event = {};
    try {
      event = JSON.parse(message.data) || {};
    } catch {
      event = {};
    }
    event.type = message.type;
    if (!current) return;
    const wants = current.view.wants ? current.view.wants(event) : event.type.startsWith("task-");
    if (wants) requestRefresh();
  };
  for (const type of EVENT_TYPES) source.addEventListener(type, onEvent);
  // Events were dropped on the way: whatever the view shows may be stale.
  source.addEventListener("lagged", () => requestRefresh());
}

// ---------------------------------------------------------------- queue samples

let sampling = null;
let lastSample = 0;

/** Reads /api/queues now; every view that shows queues uses these samples. */
function sampleQueues() {
  if (sampling) return sampling;
  lastSample = Date.now();
  sampling = (async () => {
    try {
      const data = await get("api/queues");
      const queues = data.queues || [];
      app.latestQueues = queues;
      const sample = { t: Date.now() / 1000, q: {} };
      for (const q of queues) sample.q[q.name] = { ready: q.ready, in_flight: q.in_flight, dead: q.dead };
      app.samples.push(sample);
      if (app.samples.length > SAMPLES_KEPT) app.samples.splice(0, app.samples.length - SAMPLES_KEPT);
      saveSamples();
      const dead = queues.reduce((n, q) => n + (q.dead || 0), 0);
      const badge = $("dead-count");
      badge.textContent = dead > 0 ? String(dead) : "";
      badge.dataset.count = String(dead);
      if (current && current.view.onQueues) current.view.onQueues(queues);
      return queues;
    } catch (e) {
      return app.latestQueues || [];
    } finally {
      sampling = null;
    }
  })();
  return sampling;
}

// Kept per tab across reloads, so the depth chart does not start empty.
function saveSamples() {
  try {
    sessionStorage.setItem(SAMPLES_KEY, JSON.stringify(app.samples));
  } catch {
    // Storage full or disabled: the chart just starts over next time.
  }
}

function restoreSamples() {
  if (app.samples.length) return;
  try {
    const saved = JSON.parse(sessionStorage.getItem(SAMPLES_KEY) || "[]");
    const oldest = Date.now() / 1000 - SAMPLES_KEPT * (SAMPLE_MS / 1000);
    if (Array.isArray(saved)) {
      app.samples = saved.filter((s) => s && typeof s.t === "number" && s.t >= oldest && s.q && typeof s.q === "object");
    }
  } catch {
    app.samples = [];
  }
}

// ---------------------------------------------------------------- messages

let flashTimer = null;

/** A short message under the tabs; errors stay longer. */
function notify(text, kind = "ok") {
  clearTimeout(flashTimer);
  fill(flash, h("div", { class: `message ${kind}`, testid: `flash-${kind}` }, text));
  flashTimer = setTimeout(() => fill(flash), kind === "error" ? 12000 : 5000);
}
