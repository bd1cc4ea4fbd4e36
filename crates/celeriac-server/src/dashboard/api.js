// Calls to the JSON API, and who the browser is signed in as.
//
// The session cookie is HttpOnly, so scripts never see it: the browser
// sends it by itself. State-changing calls carry the CSRF token that
// sign-in and GET /api/session return, as the server demands.

/** An API error: HTTP status and the server's message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** `{role, csrf_token, method, open}` once signed in; null before. */
let session = null;
const unauthorizedListeners = [];

export function currentSession() {
  return session;
}

export function setSession(value) {
  session = value;
}

/** Whether the caller may change things (and so sees admin buttons). */
export function isAdmin() {
  return Boolean(session && session.role === "admin");
}

/** Runs `fn` when a call answers 401: the session expired or was ended. */
export function onUnauthorized(fn) {
  unauthorizedListeners.push(fn);
}

/** Relative to the page, so the dashboard works wherever it is mounted. */
function url(path, params) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== null && v !== undefined && v !== "") query.set(k, String(v));
  }
  const qs = query.toString();
  return qs ? `${path}?${qs}` : path;
}

/** One call; resolves to the parsed JSON body, rejects with an ApiError. */
export async function call(method, path, body, options = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && session && session.csrf_token) headers["X-CSRF-Token"] = session.csrf_token;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch (e) {
    throw new ApiError(0, `the server cannot be reached (${e.message || e})`);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const message = data && typeof data.error === "string" ? data.error : `${response.status} ${response.statusText}`;
    const error = new ApiError(response.status, message);
    if (response.status === 401 && !options.quiet401) {
      for (const fn of unauthorizedListeners) fn(error);
    }
    throw error;
  }
  return data;
}

export function get(path, params, options) {
  return call("GET", url(path, params), undefined, options);
}

export function post(path, body) {
  return call("POST", path, body === undefined ? {} : body);
}

export function del(path) {
  return call("DELETE", path);
}
