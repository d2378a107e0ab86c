// hookline dashboard: live lists. A [data-live] region is fetched again every few seconds (the same page's
// results, as a fragment: ?partial=1) and put in place when it changed, while the page is visible and its
// "Update live" box is ticked. Without JavaScript the page is the same, and a reload updates it.
"use strict";

(function () {
  var EVERY_MS = 3000;
  Array.prototype.forEach.call(document.querySelectorAll("[data-live]"), function (region) {
    var toggle = document.getElementById(region.dataset.liveToggle);
    if (toggle) toggle.closest(".live-toggle").hidden = false;
    var last = null;
    var stopped = false;
    var tick = function () {
      if (stopped) return;
      if (document.hidden || (toggle && !toggle.checked)) { setTimeout(tick, EVERY_MS); return; }
      fetch(region.dataset.live, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (r) {
          // Signed out meanwhile (the sign-in page answers): stop, and leave the list as it is.
          if (r.redirected || !r.ok) { stopped = r.redirected; throw new Error(String(r.status)); }
          return r.text();
        })
        .then(function (html) {
          // Not while the keyboard is in the list: the focused link would vanish under the user.
          if (html === last || region.contains(document.activeElement)) return;
          region.innerHTML = html;
          last = html;
        })
        .catch(function () { /* try again at the next tick */ })
        .finally(function () { setTimeout(tick, EVERY_MS); });
    };
    setTimeout(tick, EVERY_MS);
  });
})();
