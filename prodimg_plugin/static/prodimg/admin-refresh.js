// prodimg admin: keep job progress current without reloading by hand.
// - An "AI images" panel ([data-prodimg-panel]) fetches itself again every few seconds while one of its jobs is
//   unfinished ([data-prodimg-pending="1"]): new images and review buttons appear as jobs finish, and the rest
//   of the page (an edit in progress) is left alone.
// - The jobs list reloads while a job on it is unfinished, unless rows are selected for an action.
(function () {
  "use strict";
  var PANEL_MS = 3000, LIST_MS = 4000;

  function pending(root) {
    return root.querySelector('[data-prodimg-pending="1"]') !== null;
  }

  function refresh(panel) {
    fetch(panel.getAttribute("data-prodimg-panel"), {credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) { return; }  // permission gone or server error: stop
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.querySelector("[data-prodimg-panel]");
        if (fresh) { panel.innerHTML = fresh.innerHTML; }
        watch(panel);
      })
      .catch(function () { setTimeout(function () { refresh(panel); }, PANEL_MS * 3); });
  }

  function watch(panel) {
    if (pending(panel)) { setTimeout(function () { refresh(panel); }, PANEL_MS); }
  }

  function watchList() {
    var list = document.getElementById("result_list");
    if (!list || !pending(list)) { return; }
    setTimeout(function again() {
      if (list.querySelector("input.action-select:checked")) { setTimeout(again, LIST_MS); return; }
      window.location.reload();
    }, LIST_MS);
  }

  function start() {
    var panels = document.querySelectorAll("[data-prodimg-panel]");
    for (var i = 0; i < panels.length; i++) {
      if (!panels[i].hasAttribute("data-prodimg-watched")) {
        panels[i].setAttribute("data-prodimg-watched", "1");
        watch(panels[i]);
      }
    }
    watchList();
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
