"""End-to-end check of the Flask client against running Celeriac workers.

Needs Redis and a `celeriac worker` with the `faces.*` tasks consuming
FACES_QUEUE under GLOBAL_KEYPREFIX (crates/celeriac-cli/tests/flask_client.rs
starts one and sets the environment). Run it directly:

    .venv/bin/python examples/flask-client/test_flask_client.py
"""

import html
import io
import json
import re
import time
from pathlib import Path

from app import PREFIX, app, blobs

ASTRONAUT = Path(__file__).resolve().parents[2] / "tests/fixtures/photos/astronaut.png"


def post(client, data, name, content_type, **kwargs):
    return client.post("/", data={"photo": (io.BytesIO(data), name, content_type)}, **kwargs)


def blob_count():
    return sum(1 for _ in blobs.scan_iter(match=f"{PREFIX}celeriac.blob.*", count=1000))


def test_astronaut_has_one_face():
    client = app.test_client()
    photo = ASTRONAUT.read_bytes()
    page = post(client, photo, "astronaut.png", "image/png", follow_redirects=True)
    assert page.request.path.startswith("/result/"), page.request.path
    deadline = time.monotonic() + 60
    body = page.get_data(as_text=True)
    while "Processing" in body:
        assert time.monotonic() < deadline, "no result within 60 s: is a worker consuming the queue?"
        page = client.get(page.request.path, query_string={"wait": 10})
        body = page.get_data(as_text=True)
    assert page.status_code == 200, body
    assert '<p class="count">1 face</p>' in body, body
    boxes = json.loads(html.unescape(re.search(r'<pre class="boxes">(.*?)</pre>', body, re.S).group(1)))
    assert len(boxes) == 1, boxes
    box = boxes[0]
    # tests/fixtures/photos/README.md: about x=173 y=68 w=99.
    assert abs(box["x"] - 173) <= 15 and abs(box["y"] - 68) <= 15 and abs(box["width"] - 99) <= 20, box
    assert len(re.findall(r'<span class="face"', body)) == 1, body
    # The page shows the stored photo: the very bytes uploaded.
    src = re.search(r'<img src="([^"]+)"', body).group(1)
    image = client.get(src)
    assert image.status_code == 200 and image.mimetype == "image/png", image.status
    assert image.data == photo
    print(f"ok: astronaut.png -> 1 face, box {json.dumps(box)}")


def test_text_file_is_refused():
    client = app.test_client()
    before = blob_count()
    page = post(client, b"just some notes\n", "notes.txt", "text/plain")
    body = page.get_data(as_text=True)
    # 415 Unsupported Media Type, as the Rust app answers a wrong declared type.
    assert page.status_code == 415, (page.status, body)
    message = "`notes.txt` is text/plain, not a photo: upload PNG, JPEG or WebP images"
    assert message in html.unescape(body), body
    # Text sent as a PNG fails the magic-bytes check instead.
    page = post(client, b"just some notes\n", "notes.png", "image/png")
    assert page.status_code == 422, page.status
    assert "not a PNG, JPEG or WebP image" in html.unescape(page.get_data(as_text=True))
    assert blob_count() == before, "a refused upload must store nothing"
    print(f"ok: notes.txt -> 415 {message}")


if __name__ == "__main__":
    test_astronaut_has_one_face()
    test_text_file_is_refused()
    print("all Flask client checks passed")
