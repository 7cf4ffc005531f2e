/* Scanner first: Enter in the scan field moves to the value instead of submitting; a field
   with an error gets the focus so the technician corrects it at once. */
(function () {
  var scan = document.getElementById('accession'), value = document.getElementById('value');
  if (!scan || !value) { return; }
  var bad = document.querySelector('.errors');
  if (bad && bad.parentNode.querySelector('input')) { bad.parentNode.querySelector('input').focus(); }
  else if (scan.value) { value.focus(); } else { scan.focus(); }
  scan.addEventListener('keydown', function (event) {
    if (event.key === 'Enter') { event.preventDefault(); if (scan.value.trim()) { value.focus(); value.select(); } }
  });
})();
