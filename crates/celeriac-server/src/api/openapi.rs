//! The OpenAPI 3.1 document of the API, served at `/api/openapi.json`.

use axum::response::IntoResponse;
use serde_json::{json, Map, Value};

use crate::ApiJson;

/// `GET /api/openapi.json` (public: it describes, it does not reveal).
pub(crate) async fn serve() -> impl IntoResponse {
    ApiJson(openapi_document())
}

fn param(name: &str, location: &str, kind: &str, description: &str) -> Value {
    json!({"name": name, "in": location, "required": location == "path",
           "schema": {"type": kind}, "description": description})
}

fn error_responses(admin: bool, body: bool) -> Map<String, Value> {
    let err = |d: &str| json!({"description": d, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let mut m = Map::new();
    m.insert("400".into(), err("Malformed request (bad JSON, parameter or option)"));
    m.insert("401".into(), err("No or wrong credentials"));
    if admin {
        m.insert(
            "403".into(),
            err("Read-only token, missing CSRF token, cross-site request, or task not on the allowlist"),
        );
    }
    if body {
        m.insert("413".into(), err("Body over the size limit"));
    }
    m
}

fn operation(summary: &str, admin: bool, params: Vec<Value>, body: Option<Value>, ok: (&str, &str)) -> Value {
    let mut responses = error_responses(admin, body.is_some());
    let content = if ok.1 == "text/event-stream" {
        json!({"text/event-stream": {"schema": {"type": "string"}}})
    } else {
        json!({"application/json": {"schema": {"type": "object"}}})
    };
    responses.insert(ok.0.into(), json!({"description": "Success", "content": content}));
    let mut op = json!({
        "summary": summary,
        "parameters": params,
        "responses": responses,
        "x-role": if admin { "admin" } else { "read_only" },
    });
    if let (Some(b), Some(obj)) = (body, op.as_object_mut()) {
        obj.insert(
            "requestBody".into(),
            json!({"required": true, "content": {"application/json": {"schema": b}}}),
        );
    }
    op
}

/// The document: every route of [`super::routes`] and the session routes.
pub fn openapi_document() -> Value {
    let id = || param("id", "path", "string", "Task id");
    let queue_name = || param("name", "path", "string", "Queue name");
    let selector = json!({"type": "object", "description": "Exactly one of id, queue or all",
        "properties": {"id": {"type": "string"}, "queue": {"type": "string"}, "all": {"type": "boolean"}}});
    let paths = json!({
        "/api/session": {
            "get": operation("Who is signed in, and the CSRF token", false, vec![], None, ("200", "json")),
            "post": operation("Sign in with a token; sets the session cookie", false, vec![],
                Some(json!({"type": "object", "required": ["token"], "properties": {"token": {"type": "string"}}})),
                ("200", "json")),
            "delete": operation("Sign out", false, vec![], None, ("200", "json")),
        },
        "/api/info": {"get": operation("What this server runs: version, broker, mounted apps, submit allowlist", false, vec![], None, ("200", "json"))},
        "/api/tasks": {
            "get": operation("List tasks from the history, newest first", false, vec![
                param("state", "query", "string", "PENDING, RECEIVED, STARTED, SUCCESS, FAILURE, RETRY, REVOKED"),
                param("name", "query", "string", "Task name"),
                param("queue", "query", "string", "Queue"),
                param("worker", "query", "string", "Worker hostname"),
                param("search", "query", "string", "Text in the id or name"),
                param("since", "query", "number", "Updated at or after (unix seconds)"),
                param("until", "query", "number", "Updated before (unix seconds)"),
                param("limit", "query", "integer", "Page size, 1 to 500 (default 50)"),
                param("after", "query", "integer", "The `next` of the previous page"),
            ], None, ("200", "json")),
            "post": operation("Submit a task on the allowlist", true, vec![], Some(json!({
                "type": "object", "required": ["name"],
                "properties": {"name": {"type": "string"}, "args": {"type": "array"}, "kwargs": {"type": "object"},
                    "options": {"type": "object", "description": "queue, countdown, eta, expires, priority, time_limit, soft_time_limit, task_id"}}})),
                ("202", "json")),
        },
        "/api/tasks/{id}": {"get": operation("A task: state, args, result or error, timeline, worker, parent and children", false, vec![id()], None, ("200", "json"))},
        "/api/tasks/{id}/wait": {"get": operation("Long-poll until the task is ready or the timeout passes", false,
            vec![id(), param("timeout", "query", "number", "Seconds, at most 60 (default 30)")], None, ("200", "json"))},
        "/api/tasks/{id}/revoke": {"post": operation("Revoke a queued task; with terminate, stop a running one", true, vec![id()],
            Some(json!({"type": "object", "properties": {"terminate": {"type": "boolean"}}})), ("200", "json"))},
        "/api/tasks/{id}/events": {"get": operation("Server-sent events of one task: its timeline, then live", false, vec![id()], None, ("200", "text/event-stream"))},
        "/api/events": {"get": operation("Server-sent events of every task and worker", false, vec![
            param("type", "query", "string", "Event type, or a prefix ending in '-'"),
            param("name", "query", "string", "Task name"),
            param("queue", "query", "string", "Queue"),
            param("worker", "query", "string", "Sender hostname"),
        ], None, ("200", "text/event-stream"))},
        "/api/stats/throughput": {"get": operation("Tasks finished per time bucket, failures, mean run time and wait", false, vec![
            param("window", "query", "number", "Seconds back from now (default 3600)"),
            param("bucket", "query", "number", "Bucket width in seconds (default 60)"),
        ], None, ("200", "json"))},
        "/api/queues": {"get": operation("Queues: ready, in flight, delayed, dead, paused, finished in the last minute", false, vec![], None, ("200", "json"))},
        "/api/queues/{name}/pause": {"post": operation("Pause consumption of a queue across the fleet", true, vec![queue_name()], None, ("200", "json"))},
        "/api/queues/{name}/resume": {"post": operation("Resume consumption of a queue", true, vec![queue_name()], None, ("200", "json"))},
        "/api/workers": {"get": operation("Workers: alive, hostname, concurrency, active tasks, last heartbeat", false, vec![], None, ("200", "json"))},
        "/api/dead": {"get": operation("Dead letters with their reasons", false, vec![
            param("queue", "query", "string", "Queue"),
            param("limit", "query", "integer", "Most entries, 1 to 1000 (default 100)"),
        ], None, ("200", "json"))},
        "/api/dead/retry": {"post": operation("Put dead letters back on their queues", true, vec![], Some(selector.clone()), ("200", "json"))},
        "/api/dead/drop": {"post": operation("Delete dead letters", true, vec![], Some(selector), ("200", "json"))},
        "/metrics": {"get": operation("Prometheus metrics of the fleet (text format 0.0.4)", false, vec![], None, ("200", "text/plain"))},
    });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Celeriac",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Tasks, queues, workers and dead letters of a Celeriac fleet. Programs send `Authorization: Bearer <token>`; browsers sign in at /api/session and send the X-CSRF-Token header on every change. `x-role` says which role an operation needs.",
        },
        "security": [{"bearer": []}, {"session": []}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "celeriac_session"},
            },
            "schemas": {
                "Error": {"type": "object", "required": ["error", "status"],
                    "properties": {"error": {"type": "string"}, "status": {"type": "integer"}}},
            },
        },
        "paths": paths,
    })
}
