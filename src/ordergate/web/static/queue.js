// The queue: selection count and sticky bar, the product picker, and keyboard triage.
// Everything here enhances plain forms: without it, rows are checked and the bar's form posts.
(function () {
  "use strict";
  const STORAGE_KEY = "ordergate.queue.shortcuts";
  const $ = (selector, root) => (root || document).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));

  // --- selection --------------------------------------------------------------------------
  function boxes() {
    return $$('#queue-table tbody input[name="exception_id"]');
  }

  function updateSelection() {
    const all = boxes();
    const checked = all.filter((box) => box.checked).length;
    $$("[data-selected-count]").forEach((el) => { el.textContent = String(checked); });
    const bar = $("#bulk-bar");
    if (bar) bar.classList.toggle("has-selection", checked > 0);
    const selectAll = $("#select-all");
    if (selectAll) {
      selectAll.checked = all.length > 0 && checked === all.length;
      selectAll.indeterminate = checked > 0 && checked < all.length;
    }
    all.forEach((box) => box.closest("tr").classList.toggle("selected", box.checked));
  }

  document.addEventListener("change", (event) => {
    if (event.target.id === "select-all") {
      boxes().forEach((box) => { box.checked = event.target.checked; });
    }
    if (event.target.closest("#queue-table")) updateSelection();
  });

  // --- the product picker -----------------------------------------------------------------
  function pick(button) {
    const scope = button.closest("form");
    const field = scope && $("[data-product-id]", scope);
    if (!field) return;
    field.value = button.dataset.pickProduct;
    const chosen = $("[data-product-chosen]", scope);
    if (chosen) chosen.textContent = "Chosen: " + button.dataset.pickLabel;
    $$(".pick[aria-pressed]", scope).forEach((b) => b.removeAttribute("aria-pressed"));
    button.setAttribute("aria-pressed", "true");
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-pick-product]");
    if (button) { pick(button); return; }
    const close = event.target.closest("dialog [data-close]");
    if (close) close.closest("dialog").close();
  });

  // --- keyboard triage --------------------------------------------------------------------
  let current = null; // the focused row's exception id

  function enabled() {
    return localStorage.getItem(STORAGE_KEY) !== "off";
  }

  function showToggle() {
    const toggle = $("#shortcuts-toggle");
    const help = $("#shortcuts-help-open");
    if (!toggle) return;
    toggle.hidden = false;
    if (help) help.hidden = false;
    toggle.setAttribute("aria-pressed", enabled() ? "true" : "false");
    toggle.textContent = "Keyboard shortcuts: " + (enabled() ? "on" : "off");
  }

  function rows() {
    return $$("#queue-table tbody tr[data-exception-id]");
  }

  function focusedRow() {
    return current === null ? null : $('#queue-table tr[data-exception-id="' + current + '"]');
  }

  function setFocus(row) {
    rows().forEach((r) => r.classList.remove("focused"));
    if (!row) { current = null; return; }
    current = row.dataset.exceptionId;
    row.classList.add("focused");
    row.focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    const all = rows();
    if (!all.length) return;
    const index = all.indexOf(focusedRow());
    const next = index < 0 ? (step > 0 ? 0 : all.length - 1)
      : Math.min(all.length - 1, Math.max(0, index + step));
    setFocus(all[next]);
  }

  function fill(dialog, row) {
    const view = $("#queue") ? $("#queue").dataset.view : "";
    $$("[data-slot]", dialog).forEach((el) => {
      const slot = el.dataset.slot;
      if (slot === "id") el.value = row.dataset.exceptionId;
      else if (slot === "vendor") el.value = row.dataset.vendorId;
      else if (slot === "view") el.value = view;
      else if (slot === "name") el.textContent = row.dataset.name;
      else if (slot === "detail") el.href = row.dataset.href;
    });
  }

  function openResolve(row) {
    const dialog = $("#triage-resolve");
    if (!dialog) return;
    fill(dialog, row);
    $$("[data-product-id]", dialog).forEach((el) => { el.value = ""; });
    $$("[data-product-chosen]", dialog).forEach((el) => { el.textContent = ""; });
    $$(".choices-list", dialog).forEach((el) => { el.innerHTML = ""; });
    const box = $("#triage-suggestions");
    box.innerHTML = '<p class="muted small">Looking for suggestions…</p>';
    dialog.showModal();
    const url = "/queue/suggestions/" + encodeURIComponent(row.dataset.exceptionId);
    if (window.htmx) {
      window.htmx.ajax("GET", url, { target: "#triage-suggestions", swap: "innerHTML" });
    } else {
      fetch(url, { credentials: "same-origin" }).then((r) => r.text()).then((html) => { box.innerHTML = html; });
    }
  }

  function openIgnore(row) {
    const dialog = $("#triage-ignore");
    if (!dialog) return;
    fill(dialog, row);
    dialog.showModal();
    $("#triage-ignore-notes").focus();
  }

  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable], dialog[open]") !== null;
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (!enabled() || !$("#queue")) return;
    if (event.key === "Escape") {
      if (document.querySelector("dialog[open]")) return; // the dialog closes itself
      if (event.target.matches("#queue-search")) { event.target.blur(); return; }
      setFocus(null);
      return;
    }
    if (typing(event.target)) return;
    const row = focusedRow();
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "/": $("#queue-search") && $("#queue-search").focus(); break;
      case "?": $("#shortcuts-help") && $("#shortcuts-help").showModal(); break;
      case "Enter":
        if (!row || event.target.closest("a, button")) return;
        window.location.href = row.dataset.href;
        break;
      case "x": {
        const box = row && $('input[name="exception_id"]', row);
        if (!box) return;
        box.checked = !box.checked;
        updateSelection();
        break;
      }
      case "r":
        if (!row) return;
        if (row.dataset.status === "resolved") { window.location.href = row.dataset.href + "#resolve"; break; }
        openResolve(row);
        break;
      case "i":
        if (!row) return;
        if (row.dataset.status !== "pending") { window.location.href = row.dataset.href + "#ignore"; break; }
        openIgnore(row);
        break;
      default: return;
    }
    event.preventDefault();
  });

  document.addEventListener("click", (event) => {
    if (event.target.closest("#shortcuts-toggle")) {
      localStorage.setItem(STORAGE_KEY, enabled() ? "off" : "on");
      showToggle();
    } else if (event.target.closest("#shortcuts-help-open")) {
      $("#shortcuts-help").showModal();
    } else {
      // A click on a row focuses it (not on its links and checkboxes, which do their own).
      const row = event.target.closest("#queue-table tbody tr[data-exception-id]");
      if (row && !event.target.closest("a, input, label, button")) setFocus(row);
    }
  });

  // After an htmx swap of the queue (a bulk post): dialogs close, the count and toggle are redrawn.
  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target && event.detail.target.id === "queue") {
      $$("dialog[open]").forEach((d) => { if (!d.contains(event.detail.target)) d.close(); });
      current = null;
      showToggle();
      updateSelection();
    }
  });

  function start() {
    showToggle();
    updateSelection();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
