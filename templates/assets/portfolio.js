"use strict";
// Sorting and filtering of portfolio.html. Cells are read as text only (textContent, dataset):
// client names are untrusted and never become markup.
(function () {
  var table = document.getElementById("portfolio");
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var q = document.getElementById("q"), phase2 = document.getElementById("phase2");
  var critical = document.getElementById("critical"), overdue = document.getElementById("overdue");
  var failed = document.getElementById("failed"), shown = document.getElementById("shown");

  function value(row, key, type) {
    var cell = row.querySelector('td[data-key="' + key + '"]');
    var v = cell ? cell.getAttribute("data-v") : "";
    return type === "num" ? parseFloat(v) : v;
  }

  function sortBy(th) {
    var key = th.getAttribute("data-key"), type = th.getAttribute("data-type");
    var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    heads.forEach(function (h) { if (h.hasAttribute("data-key")) h.setAttribute("aria-sort", "none"); });
    th.setAttribute("aria-sort", dir);
    var sign = dir === "ascending" ? 1 : -1;
    rows.sort(function (a, b) {
      var x = value(a, key, type), y = value(b, key, type);
      var c = type === "num" ? x - y : (x < y ? -1 : x > y ? 1 : 0);
      return c !== 0 ? sign * c : rows.indexOf(a) - rows.indexOf(b);
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }

  function filter() {
    var text = q.value.trim().toLowerCase(), n = 0;
    rows.forEach(function (r) {
      var ok = (!text || r.getAttribute("data-name").indexOf(text) !== -1) &&
        (!phase2.value || r.getAttribute("data-phase2") === phase2.value) &&
        (!critical.checked || parseInt(r.getAttribute("data-critical"), 10) > 0) &&
        (!overdue.checked || parseInt(r.getAttribute("data-overdue"), 10) > 0) &&
        (!failed.checked || r.getAttribute("data-failed") === "1");
      r.hidden = !ok;
      if (ok) n += 1;
    });
    shown.textContent = n + " of " + rows.length + " shown";
  }

  heads.forEach(function (th) {
    var button = th.querySelector("button");
    if (button) button.addEventListener("click", function () { sortBy(th); });
  });
  [q, phase2, critical, overdue, failed].forEach(function (el) {
    el.addEventListener("input", filter);
    el.addEventListener("change", filter);
  });
  document.getElementById("filters").addEventListener("submit", function (e) { e.preventDefault(); });
  document.documentElement.classList.add("js");
  filter();
})();
