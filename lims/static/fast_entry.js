/* The fast-entry screen (analysis/entry.html), scanner first and without inline script:
   - a scanner types the accession and Enter: Enter moves to the value (or the rapid test
     category) instead of saving a half-filled form;
   - a field with an error takes the focus, so the technician corrects it at once;
   - the value fields show for numeric methods, the category for rapid tests;
   - at the "already has a value" prompt, Enter in the reason replaces (with that reason). */
(function () {
  'use strict';
  var form = document.getElementById('fast-entry');
  if (!form) { return; }
  var method = document.getElementById('method');
  var scan = document.getElementById('accession');
  var value = document.getElementById('value');
  var category = document.getElementById('category');
  var ordinal = (form.getAttribute('data-ordinal') || '').split(',');

  function isOrdinal() { return method && ordinal.indexOf(method.value) !== -1; }
  function show(input, visible) {
    var box = input && input.closest('.field');
    if (box) { box.hidden = !visible; }
  }
  function toggle() {
    var rtk = isOrdinal();
    show(value, !rtk);
    show(document.getElementById('value2'), !rtk);
    show(category, rtk);
  }
  if (method) { method.addEventListener('change', toggle); toggle(); }

  var bad = form.querySelector('.errors');
  var badInput = bad && bad.parentNode.querySelector('input, select');
  if (badInput) { badInput.focus(); if (badInput.select) { badInput.select(); } }

  if (scan && !scan.readOnly) {
    scan.addEventListener('keydown', function (event) {
      if (event.key !== 'Enter') { return; }
      event.preventDefault();
      if (!scan.value.trim()) { return; }
      var next = isOrdinal() ? category : value;
      if (next) { next.focus(); if (next.select) { next.select(); } }
    });
  }
  var reason = document.getElementById('reason');
  var replace = document.getElementById('replace');
  if (reason && replace) {
    reason.addEventListener('keydown', function (event) {
      if (event.key === 'Enter') { event.preventDefault(); replace.click(); }
    });
  }
})();
