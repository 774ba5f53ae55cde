/* NETcare: where keyboard focus goes when htmx replaces the part of the page that held it.
   Without this, focus falls back to <body> and a keyboard or screen-reader user starts again at
   the top of the page. The markup says where it should go:
     [data-swap-focus]   in the new content: go here (an error to read, a confirmation);
     [data-focus-item]   the items of a list (a task): after an action on one, go to the item
                         that followed it (or preceded it, at the end), to its summary, link or
                         button;
     [data-swap-confirm] in the new content: go here when there is no such item;
   otherwise to the new content itself (or, where the target had no id, to the first link or
   control of what replaced it). Announcing what happened is left to live regions that
   stay on the page (htmx out-of-band swaps put the text in them). */
(function () {
  "use strict";
  var pending = null;

  function focusable(el) {
    return el.querySelector("summary, a[href], button, input, select, textarea") || el;
  }

  function moveTo(el) {
    if (!el) return false;
    if (!el.matches("a[href], button, input, select, textarea, summary, [tabindex]")) {
      el.setAttribute("tabindex", "-1");
    }
    el.focus();
    return document.activeElement === el;
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    var active = document.activeElement;
    pending = null;
    if (!event.detail.shouldSwap || !target) return;
    if (!(active === document.body || target.contains(active))) return;
    var trigger = event.detail.requestConfig && event.detail.requestConfig.elt;
    var item = trigger && trigger.closest ? trigger.closest("[data-focus-item]") : null;
    var items = Array.prototype.slice.call(target.querySelectorAll("[data-focus-item]"));
    var at = item ? items.indexOf(item) : -1;
    var after = at >= 0 ? items.slice(at + 1).concat(items.slice(0, at).reverse()) : [];
    pending = {
      id: target.id,
      acted: item ? item.id : null,
      next: after.map(function (el) { return el.id; }).filter(Boolean)
    };
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    if (!pending) return;
    var region = pending.id ? document.getElementById(pending.id) : null;
    var fresh = false;
    if (!region) {
      // A target without an id (a "Show more" replaced by what it fetched): htmx signals the
      // new elements one by one; the first element is where the new content starts.
      var el = event.target;
      if (!el || el.nodeType !== 1 || !el.isConnected) return;
      region = el;
      fresh = true;
    }
    var wanted = pending;
    pending = null;
    if (moveTo(region.querySelector("[data-swap-focus]"))) return;
    if (wanted.acted) {
      for (var i = 0; i < wanted.next.length; i++) {
        var next = document.getElementById(wanted.next[i]);
        if (next && region.contains(next) && moveTo(focusable(next))) return;
      }
    }
    if (moveTo(region.querySelector("[data-swap-confirm]"))) return;
    moveTo(fresh ? focusable(region) : region);
  });
})();
