/* Keyboard-wedge scanners type into whatever has focus: keep it on the scan field unless the
   technician is working in another field. */
(function () {
  var scan = document.getElementById('accession');
  if (!scan) { return; }
  function keep() { scan.focus(); }
  keep();
  window.addEventListener('focus', keep);
  document.addEventListener('click', function (event) {
    if (!event.target.closest('input, select, textarea, button, a, label')) { keep(); }
  });
})();
