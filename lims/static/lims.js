/* Behaviour every page may use, declared in the markup by data- attributes instead of inline
   handlers, so the Content-Security-Policy can forbid inline scripts (lims/core/headers.py). */
(function () {
  'use strict';
  /* <select data-autosubmit>: choosing an option submits its form (a <noscript> button does
     the same without JavaScript). */
  document.querySelectorAll('[data-autosubmit]').forEach(function (field) {
    field.addEventListener('change', function () { field.form.submit(); });
  });
  /* <input data-select-on-focus>: a secret shown once is selected whole, ready to copy. */
  document.querySelectorAll('[data-select-on-focus]').forEach(function (field) {
    field.addEventListener('focus', function () { field.select(); });
    if (document.activeElement === field) { field.select(); }
  });
  /* <span data-percent="42.5">: a bar's width; set through the CSSOM, which the policy allows,
     rather than a style attribute, which it does not. */
  document.querySelectorAll('[data-percent]').forEach(function (bar) {
    var percent = parseFloat(bar.dataset.percent);
    if (isFinite(percent)) { bar.style.width = Math.max(0, Math.min(100, percent)) + '%'; }
  });
})();
