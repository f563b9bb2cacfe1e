// Orders and sync pages: ask before an irreversible form post (forms marked data-confirm).
// Without JavaScript the form posts directly, as every dashboard action does.
(function () {
  "use strict";
  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });
})();
