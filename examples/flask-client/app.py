"""A Flask client of Celeriac's photo workers.

Upload a photo; it is checked, put in Celeriac's blob store on Redis and
handed to a worker as `faces.detect` with plain Celery. The result page
reads the answer with Celery's AsyncResult. No Rust code runs here: the
blob layout and the task's JSON are the whole contract (docs/photos.md).

Configuration (environment):
  CELERY_BROKER_URL      redis://127.0.0.1:6379/0 (the blob store is on it too)
  CELERY_RESULT_BACKEND  redis://127.0.0.1:6379/0
  FACES_QUEUE            celery
  GLOBAL_KEYPREFIX       "" (kombu's global_keyprefix; must match the workers')
  BLOB_TTL_SECONDS       86400 (0 keeps photos until deleted)
  MAX_UPLOAD_BYTES       10000000
"""

import json
import os
import re
import uuid

import redis
from celery import Celery
from celery.exceptions import TimeoutError as ResultTimeout
from flask import Flask, Response, abort, redirect, render_template_string, request, url_for
from kombu.exceptions import OperationalError

BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "redis://127.0.0.1:6379/0")
QUEUE = os.environ.get("FACES_QUEUE", "celery")
PREFIX = os.environ.get("GLOBAL_KEYPREFIX", "")
BLOB_TTL_SECONDS = int(os.environ.get("BLOB_TTL_SECONDS", "86400"))
MAX_UPLOAD_BYTES = int(os.environ.get("MAX_UPLOAD_BYTES", "10000000"))

# Celery's result backend appends "_" to a prefix that does not end in one of
# ":_-." while kombu and Celeriac use it as given; with such an ending all
# three agree on every key, results included.
if PREFIX and PREFIX[-1] not in ":_-.":
    raise RuntimeError(f"GLOBAL_KEYPREFIX {PREFIX!r} must end in ':', '_', '-' or '.', e.g. {PREFIX + ':'!r}")

# What the Rust app accepts (crates/celeriac-photos/src/imaging.rs).
ACCEPTED_TYPES = ("image/png", "image/jpeg", "image/webp")

# A key any blob store could have issued (is_valid_blob_key in celeriac-core).
BLOB_KEY = re.compile(r"[A-Za-z0-9_-]{1,128}")

celery = Celery("flask_client", broker=BROKER_URL, backend=RESULT_BACKEND)
celery.conf.update(
    broker_transport_options={"global_keyprefix": PREFIX},
    result_backend_transport_options={"global_keyprefix": PREFIX},
    broker_connection_retry_on_startup=True,
)

# Celeriac keeps blobs in the broker's store, so they go to the broker's Redis.
blobs = redis.Redis.from_url(BROKER_URL)

app = Flask(__name__)
# Room for the multipart framing; larger bodies are refused before being read.
app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD_BYTES + 64 * 1024


class Refused(Exception):
    """An upload that is not a usable photo, with the HTTP status to answer."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def blob_name(key):
    return f"{PREFIX}celeriac.blob.{key}"


def put_blob(data, content_type):
    """Stores a blob as Celeriac's RedisStore does and returns its key."""
    # new_blob_key: the 32 lowercase hex digits of a random UUID.
    key = uuid.uuid4().hex
    with blobs.pipeline(transaction=True) as pipe:
        pipe.hset(blob_name(key), mapping={"data": data, "content_type": content_type})
        if BLOB_TTL_SECONDS > 0:
            pipe.pexpire(blob_name(key), BLOB_TTL_SECONDS * 1000)
        pipe.execute()
    return key


def sniff(data):
    """The media type the first bytes show, if an accepted one."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check(upload):
    """(name, content type, bytes) of an acceptable photo, or Refused.

    The same checks, in the same order and words, as the Rust app's upload
    handler, except decoding the header: the worker decodes the photo
    anyway and reports InvalidImage or ImageTooLarge on the result page.
    """
    if upload is None or not upload.filename:
        raise Refused(400, "no photo was uploaded: choose a PNG, JPEG or WebP file")
    name = re.split(r"[/\\]", upload.filename)[-1] or "photo"
    declared = (upload.mimetype or "").lower()
    if declared not in ACCEPTED_TYPES:
        declared = declared or "of no declared type"
        raise Refused(415, f"`{name}` is {declared}, not a photo: upload PNG, JPEG or WebP images")
    data = upload.stream.read(MAX_UPLOAD_BYTES + 1)
    if not data:
        raise Refused(422, f"`{name}` is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise Refused(413, f"`{name}` is larger than the {MAX_UPLOAD_BYTES / 1e6:.0f} MB limit")
    found = sniff(data)
    if found is None:
        raise Refused(422, f"`{name}` is not a usable photo: not a PNG, JPEG or WebP image")
    if found != declared:
        raise Refused(422, f"`{name}` is not a usable photo: the file is {found} but was sent as {declared}")
    return name, declared, data


PAGE = """<!doctype html>
<meta charset="utf-8">
<title>Faces</title>
{% if refresh %}<meta http-equiv="refresh" content="1">{% endif %}
<style>
  body { font: 16px system-ui, sans-serif; margin: 2em; }
  .error { color: #b00020; }
  .photo { position: relative; display: inline-block; }
  .photo img { display: block; max-width: 640px; width: 100%; }
  .face { position: absolute; border: 2px solid #00e676; box-sizing: border-box; }
</style>
<h1>Faces</h1>
{% if error %}<p class="error">{{ error }}</p>{% endif %}
{% block body %}
<form method="post" action="{{ url_for('upload') }}" enctype="multipart/form-data">
  <input type="file" name="photo" accept="{{ accepted }}" required>
  <button>Find faces</button>
</form>
{% endblock %}
"""

RESULT = """{% extends page %}
{% block body %}
{% if state == "SUCCESS" %}
  <p class="count">{{ count }}</p>
  <div class="photo">
    <img src="{{ url_for('photo', key=detection.photo.blob) }}" alt="the uploaded photo">
    {% for f in detection.faces %}
    <span class="face" title="score {{ '%.1f' % f.score }}" style="left:{{ 100 * f.x / w }}%;
      top:{{ 100 * f.y / h }}%; width:{{ 100 * f.width / w }}%; height:{{ 100 * f.height / h }}%"></span>
    {% endfor %}
  </div>
  <pre class="boxes">{{ boxes }}</pre>
{% elif state == "FAILURE" %}
  <p class="error">Detection failed: {{ reason }}</p>
{% else %}
  <p>Processing… ({{ state }})</p>
{% endif %}
<p><a href="{{ url_for('index') }}">Another photo</a></p>
{% endblock %}
"""


def page(status=200, error=None):
    return render_template_string(PAGE, error=error, accepted=",".join(ACCEPTED_TYPES), refresh=False), status


@app.get("/")
def index():
    return page()


@app.post("/")
def upload():
    try:
        name, content_type, data = check(request.files.get("photo"))
    except Refused as refused:
        return page(refused.status, str(refused))
    try:
        key = put_blob(data, content_type)
    except redis.RedisError as e:
        return page(503, f"the blob store is unavailable: {e}")
    try:
        sent = celery.send_task("faces.detect", args=[{"blob": key}], queue=QUEUE)
    except OperationalError as e:
        blobs.delete(blob_name(key))  # best effort: it would expire anyway
        return page(503, f"the broker is unavailable: {e}")
    app.logger.info("%s stored as blob %s, faces.detect %s", name, key, sent.id)
    return redirect(url_for("result", task_id=sent.id), code=303)


@app.errorhandler(413)
def too_large(_):
    return page(413, f"the upload is larger than the {MAX_UPLOAD_BYTES / 1e6:.0f} MB limit")


@app.get("/result/<uuid:task_id>")
def result(task_id):
    res = celery.AsyncResult(str(task_id))
    # ?wait=N blocks up to N seconds (at most 30) for the result, woken by
    # the backend's pub/sub; without it the page refreshes every second.
    wait = min(request.args.get("wait", 0.0, type=float), 30.0)
    if wait > 0 and not res.ready():
        try:
            res.get(timeout=wait, propagate=False)
        except ResultTimeout:
            pass
    state = res.state
    args = {"page": app.jinja_env.from_string(PAGE), "state": state, "error": None, "refresh": state not in ("SUCCESS", "FAILURE", "REVOKED")}
    if state == "SUCCESS":
        detection = res.result
        n = len(detection["faces"])
        args.update(
            detection=detection,
            count="1 face" if n == 1 else f"{n} faces",
            w=max(detection["image"]["width"], 1),
            h=max(detection["image"]["height"], 1),
            boxes=json.dumps(detection["faces"], indent=2),
        )
    elif state in ("FAILURE", "REVOKED"):
        args.update(state="FAILURE", reason=f"{type(res.result).__name__}: {res.result}")
    return render_template_string(RESULT, **args)


@app.get("/photo/<key>")
def photo(key):
    """The uploaded photo, for the result page (its key comes in the result)."""
    if not BLOB_KEY.fullmatch(key):
        abort(404)
    data, content_type = blobs.hmget(blob_name(key), "data", "content_type")
    if data is None or content_type is None or content_type.decode() not in ACCEPTED_TYPES:
        abort(404)
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=86400, immutable"}
    return Response(data, mimetype=content_type.decode(), headers=headers)


if __name__ == "__main__":
    app.run(port=int(os.environ.get("PORT", "5000")))
