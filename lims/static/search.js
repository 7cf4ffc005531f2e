/* Scanning a barcode anywhere opens the sample. A scanner types a whole code within a few
   milliseconds and ends it with Enter; a person never types that fast. Keystrokes that arrive
   like that while no text field has the focus are collected, and on Enter the header search
   is submitted with them (an accession found once jumps straight to its sample). In a text
   field the scanner types into that field as before. "/" puts the cursor in the search box. */
(function () {
  'use strict';
  var form = document.querySelector('form.header-search');
  if (!form) { return; }
  var box = form.querySelector('input[name=q]');
  var GAP_MS = 35;
  var MIN_LENGTH = 4;
  var buffer = '';
  var last = 0;

  function editing(target) {
    return target && (target.isContentEditable || target.tagName === 'TEXTAREA' ||
                      target.tagName === 'SELECT' ||
                      (target.tagName === 'INPUT' && !/^(checkbox|radio|button|submit)$/.test(target.type)));
  }

  document.addEventListener('keydown', function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || editing(event.target)) { return; }
    var now = Date.now();
    if (now - last > GAP_MS) { buffer = ''; }
    last = now;
    if (event.key === 'Enter') {
      if (buffer.length >= MIN_LENGTH) {
        event.preventDefault();
        event.stopImmediatePropagation();
        box.value = buffer;
        buffer = '';
        form.submit();
      }
      return;
    }
    if (event.key.length === 1) {
      buffer += event.key;
      if (buffer.length === 1 && event.key === '/') {
        buffer = '';
        event.preventDefault();
        box.focus();
      }
    }
  }, true);
}());
