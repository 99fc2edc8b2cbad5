/*
 * Queue page: the fan's place in line, live over a WebSocket (/ws/queue/<event id>/, see
 * queueing/consumers.py), with htmx polling of the status panel whenever the socket is not alive.
 *
 * - The panel (#queue-status) always carries hx-trigger="every 5s": while the socket is alive and
 *   talking, this script cancels those polls; when it closes or goes quiet, polling simply resumes.
 * - The socket (static/js/live.js: reconnects with jittered backoff) sends one exact "status" on
 *   connect, then the event's "queue" frames (the same for every fan) when the line moves and as a slow
 *   heartbeat. This page derives its own place from them (see placeFromFrame) and counts the estimated
 *   wait down by itself between frames. A change of state reloads the panel from the server (templates
 *   stay the one place that renders states); "admitted" goes to the seat map at once.
 */
(function () {
  "use strict";

  var PANEL_ID = "queue-status";
  var LIVE_STATES = { prequeue: true, waiting: true, admitted: true };
  var QUIET_SOCKET_MS = 75000; // the server's heartbeat comes every 30 s: two missed, the socket is dead
  var OPENING_REFRESH_SPREAD_MS = 3000;

  var live = null;
  var forcedReload = false;
  var shownState = null;
  var countdownTimer = null;
  // The last exact reading (status message) and what the frames since then told us.
  var exact = null;
  var leavers = {};
  var wait = { seconds: null, at: 0, paused: false };
  var openingRefresh = null;

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
    return live !== null && live.isLive();
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

  // Same arithmetic as queueing.selectors.estimated_wait_seconds: the batch the place falls in, slowed
  // down by the measured outflow when it is below the configured one.
  function estimateWait(usersAhead, frame) {
    var batch = frame.batchSize || 1;
    var interval = frame.intervalSeconds || 30;
    var seconds = (Math.floor(usersAhead / batch) + 1) * interval;
    var measured = (frame.admissionRatePerMinute || 0) / 60;
    if (measured > 0) { seconds *= (batch / interval) / measured; }
    return Math.ceil(seconds);
  }

  function setWait(seconds, paused) {
    wait = { seconds: seconds, at: Date.now(), paused: !!paused };
    renderWait();
  }

  function currentWaitText() {
    if (wait.seconds === null) { return null; }
    // While admission is paused no estimate holds ("less than a minute" would be a false promise).
    if (wait.paused) { return "paused"; }
    return waitText(Math.ceil(Math.max(0, wait.seconds - (Date.now() - wait.at) / 1000)));
  }

  // The countdown ticks in the visible text only; the live region (the summary) is rewritten, and so
  // read out, only when the place or the pause changes (showPlace).
  function renderWait() {
    var text = currentWaitText();
    if (text !== null) { setText("estimatedWaitTime", text); }
  }

  function showPlace(position, queueSize, isPaused, progress) {
    setText("position", formatNumber(position));
    setText("usersAhead", formatNumber(position - 1));
    setText("queueSize", formatNumber(queueSize));
    var summary = field("summary");
    var spoken = position + "|" + Boolean(isPaused);
    if (summary && summary.dataset.spoken !== spoken) {
      summary.dataset.spoken = spoken;
      var waitNow = isPaused ? "paused" : currentWaitText();
      setText("summary", "Your place in line: " + formatNumber(position) + "." +
        (waitNow === null ? "" : " Estimated wait: " + waitNow + "."));
    }
    var bar = field("progress");
    if (bar && typeof progress === "number") {
      bar.value = progress;
      bar.textContent = progress + "%";
      bar.setAttribute("aria-valuetext", progress + "% of the way");
    }
    var paused = field("paused");
    if (paused) { paused.hidden = !isPaused; }
  }

  function progressFor(position) {
    var start = exact && exact.startPosition;
    if (!start || start <= position) { return 0; }
    return Math.min(100, Math.max(0, Math.round(100 * (start - position) / start)));
  }

  // Everybody admitted since the exact reading was ahead of us (the head's advance), and so was every
  // leaver whose sequence lies between the head and ours. Fans who left before the reading and are
  // passed by the head make this err short for a while; the next exact reading corrects it.
  function placeFromFrame(frame) {
    (frame.left || []).forEach(function (sequence) { leavers[sequence] = true; });
    var ahead = 0;
    Object.keys(leavers).forEach(function (key) {
      var sequence = Number(key);
      if (sequence <= frame.headSequence) {
        delete leavers[key];
      } else if (sequence < exact.sequence) {
        ahead += 1;
      }
    });
    var advanced = Math.max(0, frame.headSequence - exact.headSequence);
    return Math.max(1, exact.position - advanced - ahead);
  }

  function onStatus(message) {
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
      exact = message;
      leavers = {};
      setWait(message.estimatedWaitTime, message.isPaused);
      showPlace(message.position, message.queueSize, message.isPaused, message.progress);
    } else if (message.status === "prequeue") {
      exact = null;
      setText("queueSize", formatNumber(message.queueSize));
    }
  }

  function onFrame(frame) {
    var state = panel() ? panel().dataset.queueState : null;
    if (state === "prequeue") {
      setText("queueSize", formatNumber(frame.prequeueSize));
      if (frame.prequeueSize === 0 && !openingRefresh) {
        // The opening lottery ran: ask for the place drawn, at a random moment so that not every
        // pre-queued fan asks in the same second.
        openingRefresh = setTimeout(function () {
          openingRefresh = null;
          if (live) { live.send({ action: "refresh" }); }
        }, Math.random() * OPENING_REFRESH_SPREAD_MS);
      }
      return;
    }
    if (state !== "waiting" || !exact || typeof exact.sequence !== "number") { return; }
    var position = placeFromFrame(frame);
    setWait(estimateWait(position - 1, frame), frame.isPaused);
    showPlace(position, frame.queueSize, frame.isPaused, progressFor(position));
  }

  function onMessage(message) {
    var state = panel() ? panel().dataset.queueState : null;
    if (message.type === "admitted") {
      goTo(message.redirectUrl);
    } else if (message.type === "status") {
      onStatus(message);
    } else if (message.type === "queue") {
      onFrame(message);
    } else if (message.type === "expired" && state !== "expired") {
      reloadPanel();
    } else if (message.type === "not_in_queue" && LIVE_STATES[state]) {
      reloadPanel();
    }
  }

  function connect() {
    var element = panel();
    if (live || !element || !element.dataset.wsPath || !LIVE_STATES[element.dataset.queueState]) { return; }
    if (!window.TurnstileLive) {
      setConnection("polling");
      return;
    }
    live = window.TurnstileLive.open({
      path: element.dataset.wsPath,
      quietMs: QUIET_SOCKET_MS,
      onMessage: onMessage,
      onLive: function (isLive) { setConnection(isLive ? "live" : "polling"); }
    });
  }

  // --- Countdowns (to the opening, to the end of the admission pass) --------------------------------

  function pad(number) {
    return String(number).padStart(2, "0");
  }

  function startCountdowns() {
    clearInterval(countdownTimer);
    var timers = Array.prototype.slice.call(document.querySelectorAll("#" + PANEL_ID + " [data-countdown-to]"));
    function render() {
      renderWait();
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
    // Back to the tab: ask for the exact place (between exact reads the page derives it).
    if (document.visibilityState === "visible" && socketIsLive()) {
      live.send({ action: "refresh" });
    }
  });

  setConnection("polling");
  onPanel();
})();
