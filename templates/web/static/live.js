// Live parts of a page: every element with data-live="<fragment url>" is fetched again every few seconds
// (data-live-every="<seconds>", default 5) with the ETag last seen; the server answers 304 while nothing changed.
// The new HTML replaces the element's contents, except while focus is inside it (someone is typing or choosing),
// and polling pauses while the tab is hidden. Signed out meanwhile: the page is reloaded, which leads to sign-in.
(function () {
  "use strict";
  var DEFAULT_SECONDS = 5;

  function watch(element) {
    var url = element.getAttribute("data-live");
    var every = Math.max(1, parseFloat(element.getAttribute("data-live-every")) || DEFAULT_SECONDS) * 1000;
    var etag = element.getAttribute("data-live-etag") || null;
    var busy = false;

    function refresh() {
      if (busy || document.hidden || element.contains(document.activeElement)) return;
      busy = true;
      var headers = { "X-Requested-With": "live" };
      if (etag) headers["If-None-Match"] = etag;
      fetch(url, { headers: headers, credentials: "same-origin", redirect: "manual" })
        .then(function (response) {
          if (response.type === "opaqueredirect" || response.status === 401) { window.location.reload(); return null; }
          if (response.status !== 200) return null;
          etag = response.headers.get("ETag");
          return response.text();
        })
        .then(function (html) {
          if (html === null || html === undefined) return;
          element.innerHTML = html;
          element.dispatchEvent(new CustomEvent("live:updated", { bubbles: true }));
        })
        .catch(function () { /* the network is down for a moment: the next poll tries again */ })
        .then(function () { busy = false; });
    }

    setInterval(refresh, every);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) refresh(); });
  }

  function start() {
    var elements = document.querySelectorAll("[data-live]");
    for (var i = 0; i < elements.length; i++) watch(elements[i]);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
