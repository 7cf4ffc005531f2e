/* The dashboard's lines marked data-fill get their figure after the page is shown: the
   survey's progress is an exact count over half a million samples, too slow to hold the whole
   page for. Without script the line still links to the coverage page. */
(function () {
  'use strict';
  document.querySelectorAll('[data-fill]').forEach(function (line) {
    fetch(line.dataset.fill, {headers: {'Accept': 'application/json'}, credentials: 'same-origin'})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (figure) {
        if (!figure || !figure.label) { return; }
        line.querySelector('a').textContent = figure.label;
        line.querySelector('.muted').textContent = figure.note;
      })
      .catch(function () { /* the link stays as it was */ });
  });
}());
