// hookline dashboard: small enhancements over pages that work without JavaScript.
"use strict";

(function () {
  function each(selector, fn, root) {
    Array.prototype.forEach.call((root || document).querySelectorAll(selector), fn);
  }

  // A form sent back with errors: keyboard and screen-reader users start at the summary, whose links lead to
  // the fields (it is announced as an alert too; focus makes the next Tab reach its first link).
  each(".error-summary", function (summary, index) {
    if (index > 0) return;
    summary.setAttribute("tabindex", "-1");
    summary.focus();
  });

  // Editing a webhook: choosing another target hides the fields that change the current one (put back as
  // they were, so nothing of them is sent as a change) and says what saving will do.
  each("#f-target", function (select) {
    var current = select.value, fields = document.getElementById("f-target_url");
    var told = document.getElementById("target-switched");
    if (!fields || !told) return;
    select.addEventListener("change", function () {
      var switched = select.value !== current;
      each("input", function (input) { if (switched) input.value = input.defaultValue; }, fields);
      fields.hidden = switched;
      told.hidden = !switched;
    });
  });

  // Endpoint authentication: only the chosen kind's fields are shown (every kind's without JavaScript).
  each("#f-auth-type", function (kind) {
    function show() {
      each("[data-auth-kind]", function (fields) { fields.hidden = fields.dataset.authKind !== kind.value; });
    }
    kind.addEventListener("change", show);
    show();
  });

  // A chart wider than its box (on a phone) starts scrolled to its latest hours, on the right.
  each("[data-scroll-end]", function (box) { box.scrollLeft = box.scrollWidth; });

  // Event types: a family checkbox ticks all of its types; unticking one type unticks the family.
  function members(family) {
    return document.querySelectorAll('[data-family-member="' + family + '"]');
  }
  function syncFamily(toggle) {
    var boxes = members(toggle.dataset.familyToggle);
    var ticked = Array.prototype.filter.call(boxes, function (b) { return b.checked; }).length;
    toggle.indeterminate = !toggle.checked && ticked > 0 && ticked < boxes.length;
  }
  each("[data-family-toggle]", function (toggle) {
    toggle.addEventListener("change", function () {
      each('[data-family-member="' + toggle.dataset.familyToggle + '"]', function (b) { b.checked = toggle.checked; });
      syncFamily(toggle);
    });
    syncFamily(toggle);
  });
  each("[data-family-member]", function (box) {
    box.addEventListener("change", function () {
      var toggle = document.querySelector('[data-family-toggle="' + box.dataset.familyMember + '"]');
      if (!toggle) return;
      if (!box.checked) toggle.checked = false;
      syncFamily(toggle);
    });
  });

  // Actions menus are popovers: the browser closes them on Escape or a click elsewhere and keeps one open
  // at a time. Here each is placed under its button (above it when there is no room below), inside the window.
  function place(menu, button) {
    var box = button.getBoundingClientRect();
    var width = document.documentElement.clientWidth;
    var height = window.innerHeight;
    menu.classList.add("placed");
    var w = menu.offsetWidth;
    var h = menu.offsetHeight;
    var top = box.bottom + 4;
    if (top + h > height - 8) top = box.top - 4 - h >= 8 ? box.top - 4 - h : Math.max(8, height - 8 - h);
    menu.style.left = Math.max(8, Math.min(box.right - w, width - w - 8)) + "px";
    menu.style.top = top + "px";
  }
  each("[data-menu]", function (menu) {
    var button = document.querySelector('[popovertarget="' + menu.id + '"]');
    if (!button || typeof menu.showPopover !== "function") return;
    menu.addEventListener("toggle", function (event) {
      if (event.newState === "open") place(menu, button);
    });
    var follow = function () { if (menu.matches(":popover-open")) place(menu, button); };
    window.addEventListener("resize", follow);
    window.addEventListener("scroll", follow, { capture: true, passive: true });
  });

  // Signing keys: revealed in place on request, then copyable.
  each("a[data-reveal]", function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      fetch(link.dataset.reveal, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (keys) {
          var input;
          if (link.dataset.input) {  // details page: the masked field itself, then its Copy button
            input = document.getElementById(link.dataset.input);
            var copy = input.parentNode.querySelector("button[data-copy]");
            if (copy) copy.hidden = false;
          } else {
            var slot = document.getElementById(link.dataset.target);
            input = slot.querySelector("input");
            slot.hidden = false;
          }
          input.value = keys[link.dataset.field || "signing_key"];
          link.hidden = true;
          input.focus();
          input.select();
        })
        .catch(function () { window.location.href = link.href; });
    });
  });
  each("button[data-copy]", function (button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.dataset.copy);
      var done = function () {
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = "Copy"; }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () { input.select(); });
      } else {
        input.select();
        try { document.execCommand("copy"); done(); } catch (e) { /* selected: the user can copy */ }
      }
    });
  });

  // Payload preview: the form as it is now, rendered by the server for a sample event.
  each("[data-preview]", function (button) {
    var form = button.form;
    var output = document.getElementById(button.dataset.preview);
    var run = function () {
      var body = new FormData(form);
      output.setAttribute("aria-busy", "true");
      fetch(button.dataset.url, {
        method: "POST", body: body, credentials: "same-origin", headers: { Accept: "application/json" }
      })
        .then(function (r) { return r.json(); })
        .then(function (answer) {
          output.textContent = answer.error ? "⚠ " + answer.error : answer.body;
          output.classList.toggle("preview-error", Boolean(answer.error));
        })
        .catch(function () { output.textContent = "The preview could not be loaded."; })
        .finally(function () { output.removeAttribute("aria-busy"); });
    };
    button.addEventListener("click", function (event) { event.preventDefault(); run(); });
    var timer = null;
    var later = function () {
      clearTimeout(timer);
      timer = setTimeout(run, 500);
    };
    each("[data-preview-input]", function (input) {
      input.addEventListener(input.type === "checkbox" || input.tagName === "SELECT" ? "change" : "input", later);
    }, form);
  });

  // Job progress: poll the job while it runs, then reload to show the outcome.
  each("[data-job]", function (box) {
    var bar = box.querySelector("progress");
    var label = box.querySelector("[data-job-label]");
    var poll = function () {
      fetch(box.dataset.job, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (job) {
          if (job.total) { bar.max = job.total; bar.value = job.done; } else { bar.removeAttribute("value"); }
          label.textContent = job.text;
          if (job.finished) { window.location.reload(); } else { setTimeout(poll, 1000); }
        })
        .catch(function () { setTimeout(poll, 3000); });
    };
    setTimeout(poll, 1000);
  });
})();
