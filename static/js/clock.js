/*
 * The clock of a fan's turn (seat map, booking and pay pages): every .countdown[data-expires-at] counts
 * down on the server's clock. Near the end its [data-clock] box changes style, and a warning is shown
 * and spoken once at 2 minutes and once at 30 seconds through the page's [data-clock-warning] live
 * region (the ticking digits themselves are never announced: role="timer" is not a live region).
 * At zero the page goes to the countdown's data-expired-url, or reloads: the server then says what
 * happened (seats released, booking expired) and offers the way back.
 */
(function () {
  "use strict";

  var WARNINGS = [
    { seconds: 30, level: "urgent", text: "Less than 30 seconds left." },
    { seconds: 120, level: "warning", text: "Less than 2 minutes left." }
  ];
  var timer = null;

  function pad(n) { return String(n).padStart(2, "0"); }

  function format(left) {
    return left >= 3600
      ? Math.floor(left / 3600) + ":" + pad(Math.floor((left % 3600) / 60)) + ":" + pad(left % 60)
      : pad(Math.floor(left / 60)) + ":" + pad(left % 60);
  }

  function secondsLeft(el) {
    var expiresAt = Date.parse(el.dataset.expiresAt);
    if (isNaN(expiresAt)) { return null; }
    if (el.dataset.skew === undefined) {
      // Trust the server's clock, not the visitor's: measure the skew once per rendered countdown.
      var serverNow = Date.parse(el.dataset.serverNow);
      el.dataset.skew = String(isNaN(serverNow) ? 0 : serverNow - Date.now());
    }
    return Math.max(0, Math.floor((expiresAt - (Date.now() + Number(el.dataset.skew))) / 1000));
  }

  // Said once per page and threshold, even when htmx redraws the countdown.
  var warned = {};

  function warn(warning, region) {
    if (warned[warning.seconds] || !region) { return; }
    warned[warning.seconds] = true;
    var extra = region.dataset.clockWarningText || "When the time runs out, your seats go back on sale.";
    region.dataset.level = warning.level;
    region.textContent = warning.text + " " + extra;
  }

  function expire(el) {
    if (el.dataset.expired) { return; }
    el.dataset.expired = "true";
    var url = el.dataset.expiredUrl;
    setTimeout(function () {
      // Only ever follow a same-site path.
      if (url && url.charAt(0) === "/" && url.charAt(1) !== "/") {
        window.location.assign(url);
      } else {
        window.location.reload();
      }
    }, 1500);
  }

  function tick() {
    var region = document.querySelector("[data-clock-warning]");
    var elements = document.querySelectorAll(".countdown[data-expires-at]");
    for (var i = 0; i < elements.length; i++) {
      var el = elements[i];
      var left = secondsLeft(el);
      if (left === null) { continue; }
      var text = format(left);
      if (el.textContent !== text) { el.textContent = text; }
      var box = el.closest("[data-clock]") || el;
      var level = "";
      for (var w = 0; w < WARNINGS.length; w++) {
        if (left <= WARNINGS[w].seconds) {
          level = WARNINGS[w].level;
          if (left > 0) { warn(WARNINGS[w], region); }
          break;
        }
      }
      if (box.dataset.level !== level) { box.dataset.level = level; }
      if (left === 0) { expire(el); }
    }
  }

  function start() {
    clearInterval(timer);
    tick();
    timer = setInterval(tick, 1000);
  }

  // htmx redraws (the seat map's summary) bring new countdowns: pick them up at once.
  document.addEventListener("htmx:afterSwap", tick);
  start();
})();
