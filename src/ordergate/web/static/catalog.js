// Catalog page: "select all on this page" and a live count on "Copy selected" (the form works
// without this; the server answers an empty selection with the API's message).
(function () {
  "use strict";
  function update(form) {
    const boxes = form.querySelectorAll('input[name="ids"]');
    const chosen = form.querySelectorAll('input[name="ids"]:checked').length;
    const button = form.querySelector("[data-copy-selected]");
    if (button) {
      if (!button.dataset.label) button.dataset.label = button.textContent;
      button.textContent = chosen ? button.dataset.label.replace("selected", chosen + " selected") : button.dataset.label;
      button.disabled = chosen === 0;
    }
    const all = form.querySelector("[data-select-page]");
    if (all) {
      all.checked = chosen > 0 && chosen === boxes.length;
      all.indeterminate = chosen > 0 && chosen < boxes.length;
    }
  }
  document.addEventListener("change", (event) => {
    const form = event.target.closest("form[data-copy-form]");
    if (!form) return;
    if (event.target.matches("[data-select-page]")) {
      form.querySelectorAll('input[name="ids"]').forEach((box) => { box.checked = event.target.checked; });
    }
    update(form);
  });
  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("form[data-copy-form]").forEach(update);
  });
})();
