// Progressive enhancement only: every page works without this file.
// The request form's live preview, and copy buttons for code blocks.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form[data-preview]");
  var panel = document.getElementById("preview");
  if (form && panel) {
    var timer, seq = 0;
    var update = function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var mine = ++seq;
        var body = new URLSearchParams(new FormData(form));
        body.delete("op");
        fetch(form.dataset.preview, { method: "POST", body: body, credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.text() : null; })
          .then(function (html) { if (html !== null && mine === seq) { panel.innerHTML = html; } })
          .catch(function () {});
      }, 200);
    };
    form.addEventListener("input", update);
    form.addEventListener("change", update);
  }
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
  document.querySelectorAll("[data-copy]").forEach(function (b) {
    var src = document.getElementById(b.dataset.copy);
    if (!src || !navigator.clipboard) { return; }
    b.hidden = false;
    b.addEventListener("click", function () {
      navigator.clipboard.writeText(src.textContent).then(function () {
        b.textContent = "Copied";
        setTimeout(function () { b.textContent = "Copy"; }, 1500);
      });
    });
  });
});
