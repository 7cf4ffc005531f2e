/* A progress line per job being built: poll its status; reload when its PDF is issued (the job
   moves to the issued list) and again when its spreadsheet and results are ready. */
(function () {
  document.querySelectorAll('[data-job]').forEach(function (item) {
    var issued = item.tagName !== 'LI';
    function poll() {
      fetch(item.dataset.job, {headers: {'Accept': 'application/json'}}).then(function (r) { return r.json(); })
        .then(function (job) {
          var bar = item.querySelector('progress');
          if (bar) {
            bar.value = job.progress;
            item.querySelector('.message').textContent = job.progress + '% · ' + job.message;
          }
          if (job.status === 'done' || job.status === 'failed' || (!issued && job.pdf)) { window.location.reload(); }
          else { setTimeout(poll, 1500); }
        });
    }
    setTimeout(poll, 1500);
  });
})();
