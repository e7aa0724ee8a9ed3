// Live pages: an element with data-live (an SSE URL) and data-refresh (a URL of its new
// content) reloads that content whenever an event arrives (data-events: the event names to
// follow, space-separated; "order" when absent). No framework, no inline script
// (the Content-Security-Policy forbids it).
"use strict";
(function () {
  function follow(el) {
    var source = new EventSource(el.dataset.live);
    var status = document.querySelector("[data-live-status]");
    // One fetch at a time, and one more after it when events came meanwhile: responses
    // arriving out of order would otherwise leave an older state on the page.
    var busy = false, again = false;
    var refresh = function () {
      if (busy) { again = true; return; }
      busy = true;
      again = false;
      fetch(el.dataset.refresh, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          el.innerHTML = html;
          el.dataset.updates = String(Number(el.dataset.updates || "0") + 1);
          if (status) { status.textContent = "Updated " + new Date().toLocaleTimeString(); }
        })
        .catch(function () { /* the next event or a reload catches up */ })
        .then(function () {
          busy = false;
          if (again) { refresh(); }
        });
    };
    (el.dataset.events || "order").split(/\s+/).forEach(function (name) {
      if (name) { source.addEventListener(name, refresh); }
    });
    source.addEventListener("resync", refresh);
    source.addEventListener("open", function () { el.dataset.liveOpen = "1"; });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live][data-refresh]").forEach(follow);
  });
})();
