// The SAE form's helpers (no inline script: the CSP allows only files like this one).
// 1. A warning before the idle timeout ends the session, with a button that keeps it alive
//    (and saves the draft); after the timeout it says the draft is kept and comes back after
//    logging in. 2. Each causality row shows the drug's name as it is typed.
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }
  ready(function () {
    var form = document.getElementById("sae-form");
    if (!form) { return; }
    var idle = parseInt(form.dataset.idleSeconds || "900", 10) * 1000;
    var lead = Math.min(120000, idle / 4);
    var warning = document.getElementById("session-warning");
    var text = document.getElementById("session-warning-text");
    var warnTimer = null, endTimer = null;
    function arm() {
      if (warnTimer) { clearTimeout(warnTimer); }
      if (endTimer) { clearTimeout(endTimer); }
      warning.hidden = true;
      warnTimer = setTimeout(function () {
        text.textContent = "Your session ends in " + Math.round(lead / 60000) +
          " minute(s) without activity. What you typed is saved as a draft.";
        warning.hidden = false;
      }, idle - lead);
      endTimer = setTimeout(function () {
        text.textContent = "Your session has ended. Your draft is saved: submit or reload, " +
          "log in again, and the form comes back as you left it.";
        warning.hidden = false;
      }, idle);
    }
    // Any request to the server (a draft saved while typing) keeps the session alive.
    document.body.addEventListener("htmx:afterRequest", arm);
    document.getElementById("stay-signed-in").addEventListener("click", function () {
      fetch(form.dataset.draftUrl, {method: "POST", body: new FormData(form),
                                    credentials: "same-origin"}).then(arm);
    });
    arm();
    form.addEventListener("input", function (e) {
      var m = /^drugs\.(\d+)\.name$/.exec(e.target.name || "");
      if (!m) { return; }
      document.querySelectorAll('.drug-name[data-drug-row="' + m[1] + '"]').forEach(function (el) {
        el.textContent = e.target.value;
      });
    });
  });
}());
