// Live pages: an element with data-live (an SSE URL) and data-refresh (a URL of its new
// content) reloads that content whenever an event arrives. No framework, no inline script
// (the Content-Security-Policy forbids it).
"use strict";
(function () {
  // data-live may name several streams (space-separated); data-live-events the event names
  // that trigger a refresh (default "order"). One refresh at a time: events arriving during
  // a fetch cause one more fetch after it, so a burst costs two requests, not one per event.
  function follow(el) {
    var status = document.querySelector("[data-live-status]");
    var busy = false, again = false;
    var refresh = function () {
      if (busy) { again = true; return; }
      busy = true;
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
          if (again) { again = false; refresh(); }
        });
    };
    var events = (el.dataset.liveEvents || "order").split(" ");
    var open = 0, urls = el.dataset.live.split(" ");
    urls.forEach(function (url) {
      var source = new EventSource(url);
      events.forEach(function (name) { source.addEventListener(name, refresh); });
      source.addEventListener("resync", refresh);
      source.addEventListener("open", function () {
        open += 1;
        if (open >= urls.length) { el.dataset.liveOpen = "1"; }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live][data-refresh]").forEach(follow);
  });
})();
