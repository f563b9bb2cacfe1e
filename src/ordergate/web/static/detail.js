// Exception detail: #resolve and #ignore (the queue's keyboard triage opens them) focus their
// form's first field; the type-ahead picker is htmx markup in the page (works without this).
(function () {
  "use strict";
  const targets = {
    "#resolve": ["#resolve-form button[name=product_id]", "#picker-q"],
    "#ignore": ["#ignore-notes"],
    "#create": ["#create-title"],
    "#reopen": ["#reopen-notes"],
  };

  function focusTarget() {
    const selectors = targets[window.location.hash];
    if (!selectors) return;
    for (const selector of selectors) {
      const field = document.querySelector(selector);
      if (field) {
        field.focus({ preventScroll: false });
        return;
      }
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusTarget);
  } else {
    focusTarget();
  }
  window.addEventListener("load", focusTarget);
  window.addEventListener("hashchange", focusTarget);
})();
