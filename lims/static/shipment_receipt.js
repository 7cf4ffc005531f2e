/* The shipment scan screen (lims/logistics/templates/shipments/receive.html). A keyboard-wedge
   scanner types the accession and presses Enter: the form is sent in the background to the scan
   endpoint, which answers JSON (what the scan did and the shipment's tally); the counts and the
   two lists are redrawn, the message shown and put into the polite live region, and the scan
   field is emptied and keeps the focus for the next tube. A box label sets the current box,
   sent with the following samples. A sample not on the manifest is offered as extra: Enter in
   the empty field (or the button) receives it. Without this script the form posts and the page
   reloads. */
(function () {
  'use strict';

  var form = document.getElementById('shipment-scan');
  if (!form) { return; }
  var field = document.getElementById('scan-accession');
  var boxInput = document.getElementById('scan-box');
  var extraInput = document.getElementById('scan-extra');
  var result = document.getElementById('scan-result');
  var actions = document.getElementById('scan-actions');
  var extraButton = document.getElementById('receive-extra');
  var registerUrine = document.getElementById('register-urine');
  var registerSalt = document.getElementById('register-salt');
  var announcer = document.getElementById('scan-announcer');
  /* the accession an "unexpected" answer asks about; or, on coming back from registering a
     tube on the spot, the new accession, offered as extra at once */
  var pending = form.dataset.pending || null;
  var busy = false;
  var queue = [];

  function keep() { field.focus(); }

  function fill(list, accessions) {
    list.textContent = '';
    accessions.forEach(function (accession) {
      var item = document.createElement('li');
      item.textContent = accession;
      list.appendChild(item);
    });
  }

  function show(tally) {
    ['expected', 'scanned', 'missing', 'unexpected'].forEach(function (key) {
      document.getElementById('tally-' + key).textContent = tally[key];
    });
    fill(document.getElementById('missing-list'), tally.missing_accessions);
    fill(document.getElementById('unexpected-list'), tally.unexpected_accessions);
  }

  function say(message, good) {
    result.hidden = false;
    result.className = 'flash ' + (good ? 'success' : 'warning');
    result.textContent = message;
    announcer.textContent = message;
  }

  function answer(body) {
    if (body.box) {
      boxInput.value = body.box;
      document.getElementById('current-box').textContent = body.box;
    }
    say(body.message, body.changed || body.outcome === 'box');
    if (body.tally) { show(body.tally); }
    pending = body.outcome === 'unexpected' ? body.accession : null;
    extraButton.hidden = pending === null;
    registerUrine.hidden = registerSalt.hidden = !body.register;
    if (body.register) {
      registerUrine.href = body.register.urine;
      registerSalt.href = body.register.salt;
    }
    actions.hidden = pending === null && !body.register;
  }

  /* scans are sent one at a time, in the order they were made: a scanner is faster than a
     round trip, and the tally must follow the scans */
  function send(accession, extra) {
    if (busy) { queue.push([accession, extra]); return; }
    busy = true;
    var data = new FormData(form);
    data.set('accession', accession);
    data.set('extra', extra ? '1' : '');
    fetch(form.action, {method: 'POST', body: data, credentials: 'same-origin',
                        headers: {'Accept': 'application/json'}})
      .then(function (response) {
        return response.json().then(function (body) { return {ok: response.ok, body: body}; });
      })
      .then(function (reply) {
        if (reply.ok) { answer(reply.body); } else { say(reply.body.detail || reply.body.title, false); }
      })
      .catch(function () { say(form.dataset.offline || 'Network error: scan again.', false); })
      .then(function () {
        busy = false;
        var next = queue.shift();
        if (next) { send(next[0], next[1]); }
      });
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var accession = field.value.trim();
    field.value = '';
    keep();
    if (accession) {
      send(accession, false);
    } else if (pending) {  /* Enter in the empty field: yes, receive the sample offered */
      send(pending, true);
    }
  });

  extraButton.addEventListener('click', function () {
    if (pending) { send(pending, true); }
    keep();
  });

  extraInput.value = '';
  keep();
  window.addEventListener('focus', keep);
  document.addEventListener('click', function (event) {
    if (!event.target.closest('input, select, textarea, button, a, label')) { keep(); }
  });
})();
