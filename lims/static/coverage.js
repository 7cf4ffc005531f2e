/* Coverage table: each region's clusters fold under the region's row. Without this script every
   cluster is shown; with it, regions start folded and a button on each region row (and "show /
   hide all") unfolds them, announcing its state through aria-expanded. */
(function () {
  'use strict';
  var toggles = document.querySelectorAll('table.coverage button.toggle');
  function set(button, open) {
    var group = document.getElementById(button.getAttribute('aria-controls'));
    button.setAttribute('aria-expanded', open ? 'true' : 'false');
    if (group) { group.hidden = !open; }
  }
  toggles.forEach(function (button) {
    button.hidden = false;
    set(button, false);
    button.addEventListener('click', function () {
      set(button, button.getAttribute('aria-expanded') !== 'true');
    });
  });
  var all = document.querySelector('.coverage-toggles');
  if (all && toggles.length) {
    all.hidden = false;
    all.addEventListener('click', function (event) {
      var action = event.target.closest('[data-coverage]');
      if (!action) { return; }
      toggles.forEach(function (button) { set(button, action.dataset.coverage === 'expand'); });
    });
  }
})();
