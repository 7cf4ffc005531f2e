/* The review queue at the speed of a reviewer: j / k move between rows, x selects, v verifies
   the current row, r sends it back with a reason (a dialog). Each key posts one row to the same
   endpoints as the buttons (asking for JSON) and moves on without waiting; when every row of
   the page is done the page reloads with the next ones. The server checks every row again
   (four eyes, "changed since shown"), so this file only saves keystrokes. */
(function () {
  'use strict';
  var table = document.getElementById('review-rows');
  var form = document.getElementById('review-form');
  if (!table || !form) { return; }
  var dialog = document.getElementById('send-back-dialog');
  var backForm = document.getElementById('send-back-form');
  var csrf = form.querySelector('input[name=csrf_token]').value;
  var current = -1;
  var pending = 0;

  function rows() {
    return Array.prototype.slice.call(table.querySelectorAll('tbody tr[data-result]'));
  }

  function open(list) {
    return list.filter(function (row) { return !row.dataset.done; });
  }

  function mark(index) {
    var all = rows();
    if (!all.length) { return; }
    current = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (row, n) {
      row.classList.toggle('current', n === current);
      row.setAttribute('aria-current', n === current ? 'true' : 'false');
    });
    all[current].focus();
  }

  function nextOpen() {
    var all = rows();
    for (var n = current + 1; n < all.length; n += 1) {
      if (!all[n].dataset.done) { mark(n); return; }
    }
  }

  function say(row, text) {
    row.querySelector('.state').textContent = text;
  }

  function finish(row, text, css) {
    row.dataset.done = '1';
    row.classList.add(css);
    say(row, text);
    var box = row.querySelector('input[type=checkbox]');
    if (box) { box.checked = false; box.disabled = true; }
  }

  function maybeReload() {
    if (pending === 0 && rows().length && !open(rows()).length) { window.location.reload(); }
  }

  function post(url, data) {
    data.append('csrf_token', csrf);
    pending += 1;
    return fetch(url, {method: 'POST', body: data, credentials: 'same-origin',
                       headers: {'Accept': 'application/json'}})
      .then(function (response) {
        return response.json().then(function (body) { return {ok: response.ok, body: body}; });
      })
      .catch(function () { return {ok: false, body: {}}; })
      .then(function (answer) { pending -= 1; return answer; });
  }

  function verify(row) {
    if (!row || row.dataset.done || row.dataset.busy) { return; }
    var id = row.dataset.result;
    var data = new FormData();
    data.append('result', id);
    data.append('seen_' + id, row.dataset.seen);
    row.dataset.busy = '1';
    say(row, table.dataset.workingText);
    nextOpen();
    post(table.dataset.verifyUrl, data).then(function (answer) {
      delete row.dataset.busy;
      if (answer.ok && answer.body.verified && answer.body.verified.length) {
        finish(row, table.dataset.verifiedText, 'verified');
      } else if (answer.ok && answer.body.refused && answer.body.refused.length) {
        finish(row, answer.body.refused[0].reason, 'refused');
      } else {
        say(row, answer.body.detail || table.dataset.failedText);
      }
      maybeReload();
    });
  }

  function askSendBack(row) {
    if (!row || row.dataset.done || !dialog || !dialog.showModal) { return; }
    backForm.dataset.row = row.dataset.result;
    document.getElementById('send-back-result').value = row.dataset.result;
    document.getElementById('send-back-sample').textContent = row.dataset.label;
    document.getElementById('send-back-reason').value = '';
    dialog.showModal();
    document.getElementById('send-back-reason').focus();
  }

  if (backForm) {
    backForm.addEventListener('submit', function (event) {
      event.preventDefault();
      var row = table.querySelector('tr[data-result="' + backForm.dataset.row + '"]');
      var data = new FormData(backForm);
      data.delete('csrf_token');
      data.append('seen_' + row.dataset.result, row.dataset.seen);
      dialog.close();
      say(row, table.dataset.workingText);
      nextOpen();
      post(backForm.action, data).then(function (answer) {
        if (answer.ok) {
          finish(row, table.dataset.sentBackText, 'sent-back');
        } else {
          say(row, answer.body.detail || table.dataset.failedText);
        }
        maybeReload();
      });
    });
    document.getElementById('send-back-cancel').addEventListener('click', function () {
      dialog.close();
      mark(current);
    });
  }

  var all = document.getElementById('review-all');
  if (all) {
    all.addEventListener('change', function () {
      rows().forEach(function (row) {
        var box = row.querySelector('input[type=checkbox]');
        if (box && !box.disabled) { box.checked = all.checked; }
      });
    });
  }

  table.addEventListener('click', function (event) {
    var row = event.target.closest('tr[data-result]');
    if (row) { current = rows().indexOf(row); mark(current); }
  });

  document.addEventListener('keydown', function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (dialog && dialog.open) { return; }
    if (target && (target.isContentEditable || target.tagName === 'TEXTAREA' ||
                   target.tagName === 'SELECT' ||
                   (target.tagName === 'INPUT' && target.type !== 'checkbox'))) { return; }
    var row = rows()[current];
    switch (event.key) {
      case 'j': mark(current + 1); break;
      case 'k': mark(current - 1); break;
      case 'x':
        if (row) {
          var box = row.querySelector('input[type=checkbox]');
          if (box && !box.disabled) { box.checked = !box.checked; }
        }
        break;
      case 'v': verify(row); break;
      case 'r': askSendBack(row); break;
      default: return;
    }
    event.preventDefault();
  });

  if (rows().length) { mark(0); }
}());
