// Keeps a page current: polls the small endpoint named by <body data-live>, and when its number
// changes reloads the page — unless the person is typing in a form, then it says so instead.
(function () {
  "use strict";
  var url = document.body.getAttribute("data-live");
  if (!url || !window.fetch) return;
  var seen = null;
  var editing = false;
  document.addEventListener("input", function () { editing = true; });
  function check() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body) return;
        if (seen === null) { seen = body.version; return; }
        if (body.version === seen) return;
        seen = body.version;
        var active = document.activeElement;
        var typing = active && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName);
        if (editing || typing) {
          document.getElementById("changed").hidden = false;
        } else {
          window.location.reload();
        }
      })
      .catch(function () { /* the server is away: try again next time */ });
  }
  check();
  window.setInterval(check, 4000);
})();
