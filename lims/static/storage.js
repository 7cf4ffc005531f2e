/* Storage pages: keep the scanner's field focused (a keyboard-wedge scanner types into whatever
   has focus), and move between a box's positions with the arrow keys (one cell in the tab order,
   the grid's roving focus). */
(function () {
  var scan = document.querySelector('[data-scan-field]');
  if (scan) { scan.focus(); }
  var grid = document.querySelector('[data-grid]');
  if (!grid) { return; }
  var rows = Array.prototype.map.call(grid.tBodies[0].rows, function (row) {
    return Array.prototype.filter.call(row.cells, function (cell) { return cell.tagName === 'TD'; });
  });
  grid.addEventListener('keydown', function (event) {
    var cell = event.target.closest('td[data-position]');
    if (!cell) { return; }
    var r = cell.parentElement.sectionRowIndex;
    var c = rows[r].indexOf(cell);
    var moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1],
                  Home: [0, -c], End: [0, rows[r].length - 1 - c] };
    var step = moves[event.key];
    if (event.key === 'Enter') {
      var link = cell.querySelector('a');
      if (link) { link.click(); }
      return;
    }
    if (!step) { return; }
    var target = (rows[r + step[0]] || [])[c + step[1]];
    if (!target) { return; }
    event.preventDefault();
    cell.tabIndex = -1;
    target.tabIndex = 0;
    target.focus();
  });
})();
