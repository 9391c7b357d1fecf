/*
 * prodimg beacon: tells the shop which personalised images a shopper clicks.
 *
 *   <script src="{% static 'prodimg/beacon.js' %}" data-endpoint="{% url 'prodimg_api:events' %}"
 *           data-csrf-token="{{ csrf_token }}" defer></script>
 *
 * A click on (or on a link around) an <img data-prodimg-decision=...> queues a click event; queued events go
 * out together after a short pause, or at once when the page is being left (fetch keepalive, or sendBeacon
 * as a form with the CSRF token when fetch cannot). Impressions are logged by the server, not here.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var endpoint = (script && script.dataset.endpoint) || "/api/prodimg/events/";
  var token = (script && script.dataset.csrfToken) || cookie("csrftoken");
  var queue = [];
  var timer = null;
  var DELAY_MS = 1500;
  var MAX_BATCH = 50;

  function cookie(name) {
    var match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : "";
  }

  function imageOf(target) {
    var img = target.closest && target.closest("[data-prodimg-decision]");
    if (img) return img;
    var link = target.closest && target.closest("a");
    return link ? link.querySelector("[data-prodimg-decision]") : null;
  }

  function eventOf(img, type) {
    var d = img.dataset;
    var event = { type: type, product: d.prodimgProduct, decision_id: d.prodimgDecision,
                  page: (location.pathname + location.search).slice(0, 200) };
    if (d.prodimgPosition) event.position = parseInt(d.prodimgPosition, 10);
    return event;
  }

  function send() {
    if (timer) { clearTimeout(timer); timer = null; }
    while (queue.length) {
      var batch = queue.splice(0, MAX_BATCH);
      var body = JSON.stringify({ events: batch });
      if (window.fetch) {
        fetch(endpoint, { method: "POST", credentials: "same-origin", keepalive: true, body: body,
                          headers: { "Content-Type": "application/json", "X-CSRFToken": token } })
          .catch(function () {});
      } else if (navigator.sendBeacon) {
        var form = new FormData();
        form.append("csrfmiddlewaretoken", token);
        form.append("events", JSON.stringify(batch));
        navigator.sendBeacon(endpoint, form);
      }
    }
  }

  function push(event, leaving) {
    queue.push(event);
    if (leaving) { send(); return; }
    if (!timer) timer = setTimeout(send, DELAY_MS);
  }

  document.addEventListener("click", function (e) {
    var img = imageOf(e.target);
    if (!img) return;
    var link = e.target.closest && e.target.closest("a[href]");
    push(eventOf(img, "click"), !!link);  // following a link leaves the page: send now
  }, true);

  window.addEventListener("pagehide", send);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") send();
  });

  window.prodimg = { track: function (img, type) { push(eventOf(img, type || "click"), false); }, flush: send };
})();
