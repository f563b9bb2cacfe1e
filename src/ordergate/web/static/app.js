// ordergate dashboard: small enhancements over plain forms (every action works without this).
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  // htmx requests carry the session's form token as a header.
  document.addEventListener("htmx:configRequest", (event) => {
    event.detail.headers["X-CSRF-Token"] = csrf();
  });

  // Selects marked data-autosubmit submit their form when changed (the vendor switcher).
  document.addEventListener("change", (event) => {
    const select = event.target.closest("select[data-autosubmit]");
    if (select && select.form) select.form.requestSubmit();
  });
})();
