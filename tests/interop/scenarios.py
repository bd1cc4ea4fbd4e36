"""Python client scenarios against Celeriac workers; prints one JSON line.

    python scenarios.py NAME

Each scenario sends tasks the way a Flask or Django app would (delay,
apply_async, send_task, canvas) and reports what Celery's AsyncResult read.
"""

import datetime
import json
import os
import sys

from celery import chain, chord, group
from celery.exceptions import TaskRevokedError

from interop_app import add, app, echo, fail

TIMEOUT = 30


def calls():
    """delay, apply_async options and send_task, results read with get()."""
    out = {}
    out["delay"] = add.delay(2, 3).get(timeout=TIMEOUT)
    out["kwargs"] = add.apply_async(kwargs={"x": 4, "y": 5}).get(timeout=TIMEOUT)
    out["mixed"] = add.apply_async((6,), {"y": 7}).get(timeout=TIMEOUT)
    out["countdown"] = add.apply_async((1, 1), countdown=1).get(timeout=TIMEOUT)
    eta = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=1)
    out["eta"] = add.apply_async((2, 2), eta=eta).get(timeout=TIMEOUT)
    out["expires_future"] = add.apply_async((3, 3), expires=60).get(timeout=TIMEOUT)
    out["priority"] = add.apply_async((4, 4), priority=9).get(timeout=TIMEOUT)
    out["queue"] = add.apply_async((5, 5), queue="other").get(timeout=TIMEOUT)
    out["send_task"] = app.send_task("celeriac.add", args=[10, 20]).get(timeout=TIMEOUT)
    out["echo"] = echo.delay({"a": [1, 2.5, "é"], "b": None}).get(timeout=TIMEOUT)
    return out


def failures():
    """A failing task and an expired one, as Python sees them."""
    out = {}
    r = fail.delay("boom")
    try:
        r.get(timeout=TIMEOUT)
        out["fail"] = "no error"
    except Exception as exc:  # the rebuilt exception
        out["fail"] = {"type": type(exc).__name__, "message": str(exc), "state": r.state}
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)
    r = add.apply_async((1, 2), expires=past)
    try:
        r.get(timeout=TIMEOUT)
        out["expired"] = "ran"
    except TaskRevokedError as exc:
        out["expired"] = {"type": type(exc).__name__, "message": str(exc), "state": r.state}
    return out


def canvas():
    """chain, group and chord of Rust tasks, read back by Python."""
    out = {}
    out["chain"] = chain(add.s(1, 2), add.s(10), add.s(100)).apply_async().get(timeout=TIMEOUT)
    out["group"] = group(add.s(i, i) for i in range(5)).apply_async().get(timeout=TIMEOUT)
    out["chord"] = chord((add.s(i, 1) for i in range(4)), echo.s()).apply_async().get(timeout=TIMEOUT)
    return out


def send_mixed():
    """Sends N additions (every 7th with a 1-2 s countdown) and writes
    "id expected" lines to the file named by MIXED_IDS."""
    n = int(os.environ["MIXED_N"])
    with open(os.environ["MIXED_IDS"], "w", encoding="utf-8") as f:
        for i in range(n):
            countdown = (1 + i % 2) if i % 7 == 0 else None
            r = add.apply_async((i, i), countdown=countdown)
            f.write(f"{r.id} {2 * i}\n")
    return {"sent": n}


def shared_chord():
    """A chord whose header tasks Python and Celeriac workers share."""
    r = chord((add.s(i, i) for i in range(20)), echo.s()).apply_async()
    return {"callback_id": r.id, "value": r.get(timeout=TIMEOUT)}


def events():
    """Celery's own event receiver (what Flower and `celery events` use)
    listening while a Celeriac worker runs a task."""
    import threading
    import time

    seen = []
    with app.connection() as conn:
        receiver = app.events.Receiver(conn, handlers={"*": seen.append})
        listener = threading.Thread(target=receiver.capture, kwargs={"limit": None, "timeout": None}, daemon=True)
        listener.start()
        time.sleep(1.0)  # subscribed before the task is sent
        value = add.delay(2, 3).get(timeout=TIMEOUT)
        wanted = {"task-received", "task-started", "task-succeeded", "worker-heartbeat"}
        deadline = time.time() + 10
        while time.time() < deadline and not wanted <= {e.get("type") for e in seen}:
            time.sleep(0.2)
        receiver.should_stop = True
    succeeded = [e for e in seen if e.get("type") == "task-succeeded"]
    return {
        "value": value,
        "types": sorted({e.get("type") for e in seen}),
        "hostnames": sorted({e.get("hostname") for e in seen}),
        "result": succeeded[0].get("result") if succeeded else None,
        "sw_ident": sorted({e.get("sw_ident") for e in seen if e.get("type", "").startswith("worker-")}),
    }


def control():
    """Celery's remote control reaching a Celeriac worker: ping,
    cancel_consumer / add_consumer, and revoke with terminate."""
    import time

    from celery.exceptions import TimeoutError as CeleryTimeout

    out = {"ping": app.control.ping(timeout=2.0)}
    out["cancel"] = app.control.cancel_consumer("other", reply=True, timeout=2.0)
    time.sleep(0.5)
    held = add.apply_async((1, 1), queue="other")
    try:
        held.get(timeout=3)
        out["ran_while_cancelled"] = True
    except CeleryTimeout:
        out["ran_while_cancelled"] = False
    app.control.add_consumer("other", reply=True, timeout=2.0)
    out["after_add_consumer"] = held.get(timeout=TIMEOUT)
    running = app.send_task("celeriac.sleep", args=[600])
    time.sleep(2.0)  # let it start
    app.control.revoke(running.id, terminate=True)
    try:
        running.get(timeout=15)
        out["terminated"] = "finished"
    except TaskRevokedError:
        out["terminated"] = running.state
    except CeleryTimeout:
        out["terminated"] = "still running"
    return out


SCENARIOS = {
    "control": control,
    "events": events,
    "calls": calls,
    "failures": failures,
    "canvas": canvas,
    "send_mixed": send_mixed,
    "shared_chord": shared_chord,
}

if __name__ == "__main__":
    print(json.dumps(SCENARIOS[sys.argv[1]]()), flush=True)
