// Uploads each file on its own request (so each gets its own answer),
// then follows the unfinished photos over one server-sent-events stream.
(function () {
  "use strict";
  var gallery = document.getElementById("gallery");
  var errors = document.getElementById("errors");
  var form = document.getElementById("upload");
  var input = document.getElementById("files");
  var drop = document.getElementById("drop");
  var stream = null;
  var streamIds = [];

  function pendingIds() {
    var cards = gallery.querySelectorAll('li.photo[data-state="processing"]');
    return Array.prototype.map.call(cards, function (li) { return li.dataset.id; }).sort();
  }

  // One stream for every unfinished photo. It is replaced only when a
  // photo it does not cover appears (a new upload); finished ones just
  // drop out of it.
  function follow() {
    var ids = pendingIds();
    var covered = ids.every(function (id) { return streamIds.indexOf(id) >= 0; });
    if (stream && covered) return;
    if (stream) stream.close();
    stream = null;
    streamIds = ids;
    if (!ids.length) return;
    stream = new EventSource("events?ids=" + encodeURIComponent(ids.join(",")));
    stream.addEventListener("photo", function (event) {
      var view = JSON.parse(event.data);
      place(view.id, view.html);
    });
    stream.addEventListener("done", function () {
      stream.close();
      stream = null;
      streamIds = [];
      follow();
    });
  }

  function place(id, html) {
    var existing = document.getElementById("photo-" + id);
    var holder = document.createElement("ul");
    holder.innerHTML = html;
    var card = holder.firstElementChild;
    if (existing) existing.replaceWith(card); else gallery.prepend(card);
    var empty = document.getElementById("empty");
    if (empty) empty.remove();
    return card;
  }

  function showError(message) {
    var p = document.createElement("p");
    p.className = "error";
    p.textContent = message;
    errors.appendChild(p);
  }

  function placeholder(file) {
    var li = document.createElement("li");
    li.className = "photo uploading";
    li.dataset.state = "uploading";
    li.innerHTML = '<figure><div class="frame" style="aspect-ratio:4/3"></div>' +
      '<figcaption><span class="name"></span><strong class="status">Uploading…</strong>' +
      '<span class="detail"></span></figcaption></figure>';
    li.querySelector(".name").textContent = file.name;
    gallery.prepend(li);
    var empty = document.getElementById("empty");
    if (empty) empty.remove();
    return li;
  }

  function upload(file) {
    var card = placeholder(file);
    var body = new FormData();
    body.append("photo", file, file.name);
    return fetch("upload", { method: "POST", body: body, headers: { "Accept": "application/json" } })
      .then(function (response) {
        return response.json().then(function (answer) { return { ok: response.ok, answer: answer }; });
      })
      .then(function (r) {
        if (!r.ok) throw new Error(r.answer.error || "the upload failed");
        r.answer.photos.forEach(function (view, i) {
          if (i === 0) card.remove();
          place(view.id, view.html);
        });
        follow();
      })
      .catch(function (e) {
        card.className = "photo failed";
        card.dataset.state = "rejected";
        card.querySelector(".status").textContent = "Not uploaded";
        card.querySelector(".detail").textContent = e.message;
        showError(e.message);
      });
  }

  function uploadAll(files) {
    errors.innerHTML = "";
    Array.prototype.forEach.call(files, upload);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    uploadAll(input.files);
    input.value = "";
  });
  input.addEventListener("change", function () {
    if (input.files.length) { uploadAll(input.files); input.value = ""; }
  });
  ["dragenter", "dragover"].forEach(function (name) {
    drop.addEventListener(name, function (event) { event.preventDefault(); drop.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    drop.addEventListener(name, function (event) { event.preventDefault(); drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (event) { uploadAll(event.dataTransfer.files); });
  follow();
})();
