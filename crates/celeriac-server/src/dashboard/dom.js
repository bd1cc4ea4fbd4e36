// DOM building and formatting shared by the views.
//
// Every string given to `h` becomes a text node, so data from the API
// (task names, arguments, results, tracebacks, payloads) is never parsed as
// HTML. Nothing in the dashboard assigns HTML strings.

/**
 * Creates an element. `attrs` keys: `class`, `testid` (data-testid),
 * `dataset`, `on<event>` (listeners), `value`/`checked`/`disabled`/`hidden`
 * (properties), anything else as an attribute. Children: nodes, strings,
 * numbers, arrays of those; null, undefined and false are skipped.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const PROPERTIES = new Set(["value", "checked", "disabled", "hidden", "selected", "open"]);

function setAttrs(el, attrs) {
  if (!attrs) return;
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined) continue;
    if (key === "class") {
      if (value) el.className = value;
    } else if (key === "testid") {
      el.dataset.testid = value;
    } else if (key === "dataset") {
      for (const [k, v] of Object.entries(value)) {
        if (v !== null && v !== undefined) el.dataset[k] = String(v);
      }
    } else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (PROPERTIES.has(key)) {
      el[key] = value;
    } else if (value !== false) {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
}

/** Appends children as `h` does. */
export function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A link inside the dashboard (`#/task/<id>`…); parts are URL-encoded. */
export function route(...parts) {
  return "#/" + parts.map((p) => encodeURIComponent(p)).join("/");
}

/** A link to a task's detail, showing its id (shortened unless `full`). */
export function taskLink(id, full) {
  if (!id) return dash();
  const text = full ? id : shortId(id);
  return h("a", { href: route("task", id), class: "mono", title: id, testid: "task-link", dataset: { taskId: id } }, text);
}

/** Start and end of a long id: ids are time-ordered, so starts repeat. */
export function shortId(id) {
  return id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id;
}

/** The placeholder for a missing value. */
export function dash() {
  return h("span", { class: "muted" }, "—");
}

/** A state badge (SUCCESS, FAILURE…), coloured by class. */
export function stateBadge(state) {
  const s = String(state || "UNKNOWN");
  return h("span", { class: `badge state-${s.toLowerCase()}`, testid: "state" }, s);
}

/** Unix seconds, or an RFC 3339 string, as a Date (null when neither). */
export function toDate(value) {
  if (value === null || value === undefined || value === "") return null;
  const d = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

const pad = (n, w = 2) => String(n).padStart(w, "0");

/** Local time: `14:03:07`, with the date when it is not today. */
export function fmtTime(value, withMillis) {
  const d = toDate(value);
  if (!d) return "—";
  let time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  if (withMillis) time += `.${pad(d.getMilliseconds(), 3)}`;
  const now = new Date();
  const sameDay = d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate();
  return sameDay ? time : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

/** `HH:MM`, for chart axes. */
export function fmtClock(value, withSeconds) {
  const d = toDate(value);
  if (!d) return "";
  return withSeconds ? `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` : `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A time with how long ago it was, in a <time> element. */
export function timeCell(value) {
  const d = toDate(value);
  if (!d) return dash();
  return h("time", { datetime: d.toISOString(), title: `${d.toISOString()} (${ago(d)})` }, fmtTime(value));
}

/** `5 s ago`, `3 min ago`… */
export function ago(date) {
  const s = Math.max(0, (Date.now() - date.getTime()) / 1000);
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${(s / 3600).toFixed(1)} h ago`;
  return `${(s / 86400).toFixed(1)} days ago`;
}

/** Seconds as `850 µs`, `12 ms`, `1.52 s`, `3 min 4 s`. */
export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, seconds);
  if (s < 0.001) return `${Math.round(s * 1e6)} µs`;
  if (s < 1) return `${(s * 1000).toFixed(s < 0.01 ? 1 : 0)} ms`;
  if (s < 60) return `${s.toFixed(2)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** An integer with thousands separators. */
export function fmtCount(n) {
  if (n === null || n === undefined || !Number.isFinite(Number(n))) return "—";
  return Number(n).toLocaleString("en-US");
}

/** Bytes as `512 B`, `3.1 KiB`… */
export function fmtBytes(n) {
  if (!Number.isFinite(n)) return "—";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Any JSON value as readable text (strings as they are). */
export function jsonText(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
}

/** Text cut to `max` characters, with the whole of it as the tooltip. */
export function clipped(text, max, attrs) {
  const s = String(text ?? "");
  const short = s.length > max ? `${s.slice(0, max - 1)}…` : s;
  return h("span", { title: s.length > max ? s : null, ...attrs }, short);
}

/** A button that runs `action` once at a time, disabled while it runs. */
export function actionButton(label, attrs, action) {
  const button = h("button", { type: "button", ...attrs }, label);
  button.addEventListener("click", async (event) => {
    event.stopPropagation();
    if (button.disabled) return;
    button.disabled = true;
    try {
      await action(button);
    } finally {
      // The view may have replaced the button meanwhile; harmless then.
      button.disabled = false;
    }
  });
  return button;
}

/** A titled section of a view. */
export function section(title, testid, ...children) {
  return h("section", { class: "panel", testid }, h("h2", null, title), ...children);
}

/** An empty table body's single row. */
export function emptyRow(columns, text, testid) {
  return h("tr", { class: "empty", testid }, h("td", { colspan: String(columns) }, text));
}
