"""The Celery side of Celeriac's interoperability tests.

Configured from the environment so each test has its own key prefix and
queue on the shared Redis:

- INTEROP_REDIS: the Redis URL (default redis://127.0.0.1:6379/0)
- INTEROP_PREFIX: kombu's and the result backend's global_keyprefix
- INTEROP_QUEUE: the default queue (default "celery")
- INTEROP_EXEC_LOG: a file each execution appends its task id to

The tasks carry Celeriac's built-in names, so a Python worker and a Celeriac
worker can serve the same queue.
"""

import os

from celery import Celery

URL = os.environ.get("INTEROP_REDIS", "redis://127.0.0.1:6379/0")
PREFIX = os.environ.get("INTEROP_PREFIX", "")

app = Celery("interop", broker=URL, backend=URL)
app.conf.update(
    broker_transport_options={"global_keyprefix": PREFIX},
    result_backend_transport_options={"global_keyprefix": PREFIX},
    task_default_queue=os.environ.get("INTEROP_QUEUE", "celery"),
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    result_extended=False,
)


def _record(task):
    log = os.environ.get("INTEROP_EXEC_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(task.request.id + "\n")


@app.task(name="celeriac.add", bind=True)
def add(self, x, y):
    _record(self)
    return x + y


@app.task(name="celeriac.echo", bind=True)
def echo(self, value):
    _record(self)
    return value


@app.task(name="celeriac.fail", bind=True)
def fail(self, message):
    _record(self)
    raise RuntimeError(message)


@app.task(name="celeriac.noop", bind=True)
def noop(self):
    _record(self)
