/* What every page does for keyboard and screen-reader users (layout.html loads it; no inline
   script, for the Content-Security-Policy):
   - after a failed submit, focus goes to the error summary, so its problems are read out first;
     a summary link moves the focus into its field;
   - the header's navigation marks the section of the page shown (aria-current="page");
   - a message in [data-announce] (a scan's outcome) is put into its polite live region a moment
     after the page opens, so that screen readers announce it, not only show it. */
(function () {
  'use strict';

  var summary = document.querySelector('.error-summary');
  if (summary) {
    summary.focus();
    summary.addEventListener('click', function (event) {
      var link = event.target.closest('a[href^="#"]');
      var field = link && document.getElementById(link.getAttribute('href').slice(1));
      if (field && !field.matches('input, select, textarea, button')) {
        field = field.querySelector('input, select, textarea, button') || field;  /* radio lists */
      }
      if (field) {
        event.preventDefault();
        field.focus();
        field.scrollIntoView({block: 'center'});
      }
    });
  }

  /* the link whose address is the longest start of this page's path is its section */
  var here = window.location.pathname;
  var best = null;
  document.querySelectorAll('header nav a[href]').forEach(function (link) {
    var path = new URL(link.href, window.location.href).pathname;
    var prefix = path.endsWith('/') ? path : path + '/';
    if ((here === path || here.startsWith(prefix)) && (!best || path.length > best.path.length)) {
      best = {link: link, path: path};
    }
  });
  if (best && !best.link.hasAttribute('aria-current')) {
    best.link.setAttribute('aria-current', 'page');
  }

  document.querySelectorAll('[data-announce]').forEach(function (region) {
    var message = region.getAttribute('data-announce');
    if (message) {
      window.setTimeout(function () { region.textContent = message; }, 250);
    }
  });
})();
