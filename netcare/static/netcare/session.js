/* NETcare automatic logoff: a warning a minute before the session ends, "Stay signed in" to
   keep working, and the sign-in page once the session has ended. The server decides
   (netcare/session.py); this only asks it, read-only, before warning and at the end, since
   another tab may have kept the session going. */
(function () {
  "use strict";
  var body = document.body;
  var statusUrl = body.dataset.sessionUrl;
  var box = document.getElementById("session-warning");
  if (!statusUrl || !box) return;

  var loginUrl = body.dataset.loginUrl;
  var warnBefore = parseInt(body.dataset.sessionWarning, 10) || 60;
  var idleSeconds = parseInt(body.dataset.sessionIdle, 10) || 900;
  var countdown = box.querySelector("[data-session-countdown]");
  var idleReason = box.querySelector("[data-session-idle-reason]");
  var extend = box.querySelector("[data-session-extend]");
  var idleEnd, absoluteEnd;
  var warned = false, asking = false, lastAsked = 0;

  function setClock(idleLeft, absoluteLeft) {
    var now = Date.now();
    idleEnd = now + idleLeft * 1000;
    absoluteEnd = now + absoluteLeft * 1000;
  }

  function csrfToken() {
    try {
      return JSON.parse(body.getAttribute("hx-headers"))["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function leave() {
    var here = window.location.pathname + window.location.search;
    window.location.assign(loginUrl + "?next=" + encodeURIComponent(here));
  }

  function ask(method) {
    asking = true;
    lastAsked = Date.now();
    var headers = {"Accept": "application/json"};
    if (method === "POST") headers["X-CSRFToken"] = csrfToken();
    return fetch(statusUrl, {method: method, credentials: "same-origin", headers: headers})
      .then(function (response) { return response.json(); })
      .then(function (status) {
        if (!status.authenticated) {
          leave();
          return;
        }
        setClock(status.idle_remaining, status.absolute_remaining);
      })
      .catch(function () { /* offline for a moment: ask again shortly */ })
      .finally(function () {
        asking = false;
        tick();
      });
  }

  function tick() {
    if (asking) return;
    var left = Math.ceil((Math.min(idleEnd, absoluteEnd) - Date.now()) / 1000);
    if (left > warnBefore) {
      box.hidden = true;
      warned = false;
      return;
    }
    if (!warned) {
      warned = true;
      ask("GET");
      return;
    }
    if (left > 0) {
      var idleIsNearer = idleEnd <= absoluteEnd;
      countdown.textContent = String(left);
      idleReason.hidden = !idleIsNearer;
      extend.hidden = !idleIsNearer;  // nothing extends the limit counted from signing in
      box.hidden = false;
      return;
    }
    // The end: the server signs the session out (and says so) or says how long is left.
    if (Date.now() - lastAsked > 2000) ask("GET");
  }

  extend.addEventListener("click", function () {
    ask("POST");  // a request is activity: the server moves the idle limit
  });
  // Requests made in place (htmx) are activity too.
  body.addEventListener("htmx:afterRequest", function () {
    idleEnd = Date.now() + idleSeconds * 1000;
  });

  setClock(idleSeconds, parseInt(body.dataset.sessionAbsolute, 10) || 0);
  window.setInterval(tick, 1000);
  tick();
})();
