/*
 * Queue page: the fan's place in line, live over a WebSocket (/ws/queue/<event id>/, see
 * queueing/consumers.py), with htmx polling of the status panel whenever the socket is not alive.
 *
 * - The panel (#queue-status) always carries hx-trigger="every 5s": while the socket is alive and
 *   talking, this script cancels those polls; when it closes or goes quiet, polling simply resumes.
 * - "status" messages update the numbers in place; a change of state reloads the panel from the
 *   server (templates stay the one place that renders states); "admitted" goes to the seat map at once.
 */
(function () {
  "use strict";

  var PANEL_ID = "queue-status";
  var LIVE_STATES = { prequeue: true, waiting: true, admitted: true };
  var QUIET_SOCKET_MS = 15000; // no message for this long: let polling run again
  var MAX_RECONNECT_MS = 30000;

  var socket = null;
  var socketOpen = false;
  var lastMessageAt = 0;
  var reconnectDelay = 1000;
  var reconnectTimer = null;
  var forcedReload = false;
  var shownState = null;
  var countdownTimer = null;

  function panel() {
    return document.getElementById(PANEL_ID);
  }

  function field(name) {
    var element = panel();
    return element ? element.querySelector('[data-queue-field="' + name + '"]') : null;
  }

  function setText(name, text) {
    var element = field(name);
    if (element && element.textContent !== text) {
      element.textContent = text;
    }
  }

  function formatNumber(value) {
    return value === null || value === undefined ? "–" : Number(value).toLocaleString("en");
  }

  // Same wording as queueing.presenters.wait_text.
  function waitText(seconds) {
    if (seconds === null || seconds === undefined) { return "not known yet"; }
    if (seconds < 60) { return "less than a minute"; }
    var minutes = Math.round(seconds / 60);
    if (minutes < 60) { return "about " + minutes + (minutes === 1 ? " minute" : " minutes"); }
    var hours = Math.floor(minutes / 60);
    minutes = minutes % 60;
    if (!minutes) { return "about " + hours + (hours === 1 ? " hour" : " hours"); }
    return "about " + hours + " h " + minutes + " min";
  }

  function socketIsLive() {
    return socketOpen && Date.now() - lastMessageAt < QUIET_SOCKET_MS;
  }

  function setConnection(mode) {
    var note = document.querySelector("[data-queue-connection]");
    if (!note) { return; }
    note.dataset.queueConnection = mode;
    note.textContent = mode === "live"
      ? "Live: this page updates by itself, no need to reload it."
      : "Updating every few seconds: no need to reload this page.";
  }

  function goTo(url) {
    // Only ever follow a same-site path.
    if (typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/") {
      window.location.assign(url);
    } else {
      reloadPanel();
    }
  }

  function reloadPanel() {
    var element = panel();
    if (!element || !window.htmx) {
      window.location.reload();
      return;
    }
    forcedReload = true;
    window.htmx.trigger(element, "queue:reload");
  }

  // --- WebSocket messages --------------------------------------------------------------------------

  function showStatus(message) {
    var element = panel();
    if (!element) { return; }
    if (message.status !== element.dataset.queueState) {
      if (message.status === "admitted" && message.redirectUrl) {
        goTo(message.redirectUrl);
      } else {
        reloadPanel();
      }
      return;
    }
    if (message.status === "waiting") {
      setText("position", formatNumber(message.position));
      setText("usersAhead", formatNumber(message.usersAhead));
      setText("queueSize", formatNumber(message.queueSize));
      // While admission is paused no estimate holds ("less than a minute" would be a false promise).
      setText("estimatedWaitTime", message.isPaused ? "paused" : waitText(message.estimatedWaitTime));
      // The live region: rewritten (and so read out) only when the place or the pause changes, not
      // for every new estimate.
      var summary = field("summary");
      var spoken = message.position + "|" + Boolean(message.isPaused);
      if (summary && summary.dataset.spoken !== spoken) {
        summary.dataset.spoken = spoken;
        setText("summary", "Your place in line: " + formatNumber(message.position) + ". " + (message.isPaused
          ? "Estimated wait: paused."
          : "Estimated wait: " + waitText(message.estimatedWaitTime) + "."));
      }
      var bar = field("progress");
      if (bar && typeof message.progress === "number") {
        bar.value = message.progress;
        bar.textContent = message.progress + "%";
        bar.setAttribute("aria-valuetext", message.progress + "% of the way");
      }
      var paused = field("paused");
      if (paused) { paused.hidden = !message.isPaused; }
    } else if (message.status === "prequeue") {
      setText("queueSize", formatNumber(message.queueSize));
    }
  }

  function onMessage(event) {
    var message;
    try {
      message = JSON.parse(event.data);
    } catch (error) {
      return;
    }
    lastMessageAt = Date.now();
    var state = panel() ? panel().dataset.queueState : null;
    if (message.type === "admitted") {
      goTo(message.redirectUrl);
    } else if (message.type === "status") {
      showStatus(message);
    } else if (message.type === "expired" && state !== "expired") {
      reloadPanel();
    } else if (message.type === "not_in_queue" && LIVE_STATES[state]) {
      reloadPanel();
    }
  }

  function scheduleReconnect() {
    clearTimeout(reconnectTimer);
    var delay = reconnectDelay * (0.5 + Math.random());
    reconnectDelay = Math.min(reconnectDelay * 2, MAX_RECONNECT_MS);
    reconnectTimer = setTimeout(connect, delay);
  }

  function connect() {
    var element = panel();
    if (socket || !element || !element.dataset.wsPath || !LIVE_STATES[element.dataset.queueState]) { return; }
    if (!("WebSocket" in window)) {
      setConnection("polling");
      return;
    }
    var url = (window.location.protocol === "https:" ? "wss://" : "ws://") + window.location.host + element.dataset.wsPath;
    var ws;
    try {
      ws = new window.WebSocket(url);
    } catch (error) {
      setConnection("polling");
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.onopen = function () {
      socketOpen = true;
      lastMessageAt = Date.now();
      reconnectDelay = 1000;
      setConnection("live");
    };
    ws.onmessage = onMessage;
    ws.onerror = function () { /* onclose follows */ };
    ws.onclose = function (event) {
      socket = null;
      socketOpen = false;
      setConnection("polling");
      // 4401 (logged out) and 4404 (no such event) will not get better by retrying.
      if (event.code !== 4401 && event.code !== 4404) { scheduleReconnect(); }
    };
  }

  // --- Countdowns (to the opening, to the end of the admission pass) --------------------------------

  function pad(number) {
    return String(number).padStart(2, "0");
  }

  function startCountdowns() {
    clearInterval(countdownTimer);
    var timers = Array.prototype.slice.call(document.querySelectorAll("#" + PANEL_ID + " [data-countdown-to]"));
    if (!timers.length) { return; }
    function render() {
      timers.forEach(function (element) {
        var target = Date.parse(element.dataset.countdownTo);
        // Trust the server's clock, not the visitor's: the skew is measured once per render of the panel.
        var skew = Date.parse(element.dataset.serverNow) - (element.loadedAt || (element.loadedAt = Date.now()));
        if (isNaN(target) || isNaN(skew)) { return; }
        var left = Math.max(0, Math.floor((target - (Date.now() + skew)) / 1000));
        var days = Math.floor(left / 86400);
        var text = pad(Math.floor((left % 86400) / 3600)) + ":" + pad(Math.floor((left % 3600) / 60)) + ":" + pad(left % 60);
        element.textContent = (days ? days + (days === 1 ? " day " : " days ") : "") + text;
      });
    }
    render();
    countdownTimer = setInterval(render, 1000);
  }

  // --- Panel life cycle -------------------------------------------------------------------------------

  function onPanel() {
    var element = panel();
    if (!element) { return; }
    var state = element.dataset.queueState;
    if (state === "admitted" && shownState && shownState !== "admitted") {
      goTo(element.dataset.seatMapUrl); // let in while watching (polling): straight to the seat map
      return;
    }
    shownState = state;
    startCountdowns();
    connect();
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var element = panel();
    if (!element || event.detail.elt !== element) { return; }
    if (forcedReload) {
      forcedReload = false;
      return;
    }
    if (socketIsLive()) { event.preventDefault(); }
  });

  document.addEventListener("htmx:load", function (event) {
    if (event.detail.elt && event.detail.elt.id === PANEL_ID) { onPanel(); }
  });

  document.addEventListener("visibilitychange", function () {
    // Back to the tab: ask for the exact place (between exact reads the socket sends estimates).
    if (document.visibilityState === "visible" && socket && socketOpen) {
      socket.send(JSON.stringify({ action: "refresh" }));
    }
  });

  setConnection("polling");
  onPanel();
})();
