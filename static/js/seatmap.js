/*
 * Seat map: picking seats (htmx posts to the hold / release views, which answer with the summary partial)
 * and live availability over a WebSocket (/ws/events/<event id>/seats/, see bookings/consumers.py), with
 * polling of a small JSON endpoint whenever the socket is not open. Also runs the countdowns
 * (.countdown[data-expires-at]) of the seat map and booking pages.
 *
 * What each seat shows = the fan's own holds (`mine`, from the summary's data-held-ids: the server's
 * answer to every hold / release) first, else what every fan sees (`remote`, from the page, the socket's
 * snapshot and changes, or polling). So a "held" change for the fan's own seat keeps it "yours", and a
 * seat the fan releases shows whatever the others' latest state for it is.
 */
(function () {
  "use strict";

  var STATE_CLASSES = ["s-available", "s-held", "s-held_by_me", "s-sold"];
  // Same words as bookings/templatetags/seat_map_tags.py STATE_TEXT (no ", " inside).
  var STATE_TEXT = {
    available: "available",
    held: "held by another fan",
    held_by_me: "selected by you",
    sold: "sold"
  };
  var POLL_MS = 4000;
  var MAX_RECONNECT_MS = 30000;
  var ZOOM_REM = [1, 1.3, 1.6, 2, 2.6];
  var SEAT_SELECTOR = ".seat-grid button";

  // --- Countdowns (seat map and booking pages) -----------------------------------------------------

  function pad(n) { return String(n).padStart(2, "0"); }

  function tickCountdowns() {
    var elements = document.querySelectorAll(".countdown[data-expires-at]");
    for (var i = 0; i < elements.length; i++) {
      var el = elements[i];
      var expiresAt = Date.parse(el.dataset.expiresAt);
      if (isNaN(expiresAt)) { continue; }
      if (el.dataset.skew === undefined) {
        // Trust the server's clock, not the visitor's: measure the skew once.
        var serverNow = Date.parse(el.dataset.serverNow);
        el.dataset.skew = String(isNaN(serverNow) ? 0 : serverNow - Date.now());
      }
      var left = Math.max(0, Math.floor((expiresAt - (Date.now() + Number(el.dataset.skew))) / 1000));
      var text = left >= 3600
        ? Math.floor(left / 3600) + ":" + pad(Math.floor((left % 3600) / 60)) + ":" + pad(left % 60)
        : pad(Math.floor(left / 60)) + ":" + pad(left % 60);
      if (el.textContent !== text) { el.textContent = text; }
      if (left === 0 && !el.dataset.expired) {
        el.dataset.expired = "true";
        // The window is over: the server decides what comes next (the queue, the expired booking...).
        setTimeout(function () { window.location.reload(); }, 1500);
      }
    }
  }

  tickCountdowns();
  setInterval(tickCountdowns, 1000);

  var app = document.getElementById("seat-map-app");
  if (!app) { return; }

  var holdUrl = app.dataset.holdUrl;
  var releaseUrl = app.dataset.releaseUrl;
  var statesUrl = app.dataset.statesUrl;
  var wsPath = app.dataset.wsPath;

  var remote = {};            // seat id -> "held" | "sold" as every fan sees it (absent: available)
  var mine = {};              // seat id -> true: the fan's holds, per the last summary
  var pending = {};           // seat id -> true: a hold / release is on its way
  var zoomIndex = 2;

  var live = null;            // static/js/live.js: the socket, its reconnects with jittered backoff
  var socketLive = false;
  var pollTimer = null;
  var stopped = false;        // the server refused us for good (logged out, unknown event)

  function seatElement(id) { return document.getElementById("s" + id); }
  function seatId(el) { return Number(el.id.slice(1)); }
  function allSeats() { return app.querySelectorAll(SEAT_SELECTOR); }

  function shownState(id) {
    if (mine[id]) { return "held_by_me"; }
    return remote[id] || "available";
  }

  function paint(id) {
    var el = seatElement(id);
    if (!el) { return; }
    var state = shownState(id);
    if (el.classList.contains("s-" + state)) { return; }
    el.classList.remove.apply(el.classList, STATE_CLASSES);
    el.classList.add("s-" + state);
    if (state === "available" || state === "held_by_me") {
      el.setAttribute("aria-pressed", state === "held_by_me" ? "true" : "false");
      el.removeAttribute("aria-disabled");
    } else {
      el.setAttribute("aria-disabled", "true");
      el.removeAttribute("aria-pressed");
    }
    var label = el.getAttribute("aria-label") || "";
    var cut = label.lastIndexOf(", ");
    label = (cut >= 0 ? label.slice(0, cut) : label) + ", " + STATE_TEXT[state];
    el.setAttribute("aria-label", label);
    if (el.title) { el.title = label; }
  }

  function paintAll() {
    var seats = allSeats();
    for (var i = 0; i < seats.length; i++) { paint(seatId(seats[i])); }
  }

  // What the server drew is the freshest view of the others' seats (page load, section tab).
  function readMap() {
    var seats = allSeats();
    for (var i = 0; i < seats.length; i++) {
      var el = seats[i];
      var id = seatId(el);
      if (el.classList.contains("s-sold")) { remote[id] = "sold"; }
      else if (el.classList.contains("s-held") || el.classList.contains("s-held_by_me")) { remote[id] = "held"; }
      else { delete remote[id]; }
    }
    setUpRovingFocus();
    applyZoom();
    paintAll();
  }

  function announce(text) {
    var region = app.querySelector("[data-seat-announce]");
    if (region) { region.textContent = text; }
  }

  // --- Holds and releases (htmx) ---------------------------------------------------------------------

  function toggle(el) {
    var id = seatId(el);
    if (pending[id]) { return; }
    var state = shownState(id);
    if (state !== "available" && state !== "held_by_me") {
      announce("That seat is " + STATE_TEXT[state] + ".");
      return;
    }
    pending[id] = true;
    el.classList.add("is-pending");
    el.setAttribute("aria-busy", "true");
    var url = state === "available" ? holdUrl : releaseUrl;
    var done = function () {
      delete pending[id];
      var current = seatElement(id);
      if (current) {
        current.classList.remove("is-pending");
        current.removeAttribute("aria-busy");
      }
    };
    if (!window.htmx) { done(); return; }
    window.htmx.ajax("POST", url, {
      source: el,
      target: "#seat-summary",
      swap: "outerHTML",
      values: { seat_ids: String(id) }
    }).then(done, done);
  }

  function readSummary(quiet) {
    var summary = document.getElementById("seat-summary");
    if (!summary) { return; }
    var held, taken;
    try {
      held = JSON.parse(summary.dataset.heldIds || "[]");
      taken = JSON.parse(summary.dataset.takenIds || "[]");
    } catch (error) {
      return;
    }
    var before = mine;
    mine = {};
    held.forEach(function (id) { mine[id] = true; });
    taken.forEach(function (id) {
      if (!mine[id] && remote[id] !== "sold") { remote[id] = "held"; }
    });
    Object.keys(before).forEach(function (id) { paint(Number(id)); });
    held.concat(taken).forEach(paint);
    if (quiet) { return; }
    var total = summary.querySelector("[data-seat-total]");
    var error = summary.querySelector("[role=alert]");
    if (error) {
      announce(error.textContent.trim());
    } else if (total) {
      announce(held.length + (held.length === 1 ? " seat" : " seats") + " held. Total " + total.textContent.trim() + ".");
    } else {
      announce("No seats held.");
    }
  }

  document.body.addEventListener("htmx:beforeSwap", function (event) {
    // Holds that fail (403, 409, 503...) still answer with the summary and its message: show it.
    var detail = event.detail;
    var status = detail.xhr ? detail.xhr.status : 0;
    if (status >= 400 && detail.target && detail.target.id === "seat-summary" &&
        detail.serverResponse && detail.serverResponse.indexOf('id="seat-summary"') !== -1) {
      detail.shouldSwap = true;
      detail.isError = false;
    }
  });

  document.body.addEventListener("htmx:responseError", function (event) {
    var summary = document.getElementById("seat-summary");
    if (!summary || (event.detail.target && event.detail.target.id !== "seat-summary")) { return; }
    var note = summary.querySelector("[data-request-error]");
    if (!note) {
      note = document.createElement("p");
      note.className = "message message-error";
      note.setAttribute("role", "alert");
      note.dataset.requestError = "true";
      summary.insertBefore(note, summary.children[1] || null);
    }
    note.textContent = event.detail.xhr && event.detail.xhr.status === 429
      ? "Too many requests. Please wait a minute and try again."
      : "Something went wrong. Please try again.";
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "seat-map") {
      readMap();
    } else {
      readSummary();
    }
  });

  // --- Mouse, touch and keyboard -----------------------------------------------------------------------

  app.addEventListener("click", function (event) {
    var zoom = event.target.closest("[data-zoom-step]");
    if (zoom) {
      zoomIndex = Math.max(0, Math.min(ZOOM_REM.length - 1, zoomIndex + Number(zoom.dataset.zoomStep)));
      applyZoom();
      return;
    }
    var el = event.target.closest(SEAT_SELECTOR);
    if (!el) { return; }
    moveFocus(el, false);
    toggle(el); // buttons also get "click" from Enter, Space and taps
  });

  // Tooltips on demand: one title attribute per hovered seat instead of thousands in the page.
  app.addEventListener("pointerover", function (event) {
    var el = event.target.closest && event.target.closest(SEAT_SELECTOR);
    if (el && !el.title) { el.title = el.getAttribute("aria-label"); }
  });

  function setUpRovingFocus() {
    var seats = allSeats();
    var chosen = null;
    for (var i = 0; i < seats.length; i++) {
      seats[i].tabIndex = -1;
      if (!chosen && (seats[i].classList.contains("s-held_by_me") || seats[i].classList.contains("s-available"))) {
        chosen = seats[i];
      }
    }
    chosen = chosen || seats[0];
    if (chosen) { chosen.tabIndex = 0; }
  }

  function moveFocus(el, focus) {
    var current = app.querySelectorAll(SEAT_SELECTOR + '[tabindex="0"]');
    for (var i = 0; i < current.length; i++) { current[i].tabIndex = -1; }
    el.tabIndex = 0;
    if (focus) {
      el.focus();
      el.scrollIntoView({ block: "nearest", inline: "nearest" });
    }
  }

  function gridPlace(el) {
    return { row: parseInt(el.style.gridRowStart, 10), column: parseInt(el.style.gridColumnStart, 10) };
  }

  function neighbour(el, key) {
    var grid = el.parentElement;
    var seats = Array.prototype.slice.call(grid.querySelectorAll("button"));
    var index = seats.indexOf(el);
    if (key === "ArrowLeft") { return seats[index - 1]; }
    if (key === "ArrowRight") { return seats[index + 1]; }
    if (key === "Home") { return seats[0]; }
    if (key === "End") { return seats[seats.length - 1]; }
    var here = gridPlace(el);
    var step = key === "ArrowUp" ? -1 : 1;
    var best = null;
    var bestScore = Infinity;
    seats.forEach(function (seat) {
      var place = gridPlace(seat);
      var rows = (place.row - here.row) * step;
      if (rows <= 0) { return; }
      var score = rows * 1000 + Math.abs(place.column - here.column);
      if (score < bestScore) { bestScore = score; best = seat; }
    });
    return best;
  }

  app.addEventListener("keydown", function (event) {
    var el = event.target.closest && event.target.closest(SEAT_SELECTOR);
    if (!el || ["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End"].indexOf(event.key) === -1) {
      return;
    }
    var next = neighbour(el, event.key);
    if (next) {
      event.preventDefault();
      moveFocus(next, true);
    }
  });

  function applyZoom() {
    app.style.setProperty("--seat", ZOOM_REM[zoomIndex] + "rem");
    var map = app.querySelector(".seat-map");
    if (map) { map.dataset.zoomLevel = String(zoomIndex); }
  }

  // --- Live availability -------------------------------------------------------------------------------

  function setConnection(mode) {
    var note = app.querySelector("[data-seat-connection]");
    if (!note || note.dataset.seatConnection === mode) { return; }
    note.dataset.seatConnection = mode;
    note.textContent = mode === "live"
      ? "Live: seats taken by other fans disappear as it happens."
      : "Seat availability refreshes every few seconds.";
  }

  function applySnapshot(states) {
    remote = {};
    states.forEach(function (pair) {
      remote[pair[0]] = pair[1] === "sold" ? "sold" : "held"; // held_by_me is "held" for the others
    });
    paintAll();
  }

  function applyChanges(changes) {
    changes.forEach(function (pair) {
      if (pair[1] === "available") { delete remote[pair[0]]; } else { remote[pair[0]] = pair[1]; }
      paint(pair[0]);
    });
  }

  function onMessage(message) {
    if (message.type === "snapshot") {
      socketLive = true;
      stopPolling();
      setConnection("live");
      applySnapshot(message.states || []);
    } else if (message.type === "seats") {
      applyChanges(message.changes || []);
    }
  }

  function connect() {
    if (stopped || !window.TurnstileLive) { startPolling(); return; }
    live = window.TurnstileLive.open({
      path: wsPath,
      // No heartbeat on this socket (server pings keep proxies awake): a quiet map is a calm sale.
      quietMs: 24 * 3600 * 1000,
      onMessage: onMessage,
      onLive: function (isLive) {
        if (!isLive) {
          socketLive = false; // until the next snapshot: polling meanwhile
          startPolling();
        }
      }
    });
  }

  function poll() {
    if (socketLive || stopped) { return; }
    window.fetch(statesUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401 || response.status === 404) { stopped = true; stopPolling(); return null; }
        return response.ok ? response.json() : null;
      })
      .then(function (message) {
        if (message && message.type === "snapshot" && !socketLive) {
          applySnapshot(message.states || []);
          setConnection("polling");
        }
      })
      .catch(function () { /* try again at the next tick */ });
  }

  function startPolling() {
    if (pollTimer || stopped) { return; }
    setConnection("polling");
    poll();
    pollTimer = setInterval(poll, POLL_MS);
  }

  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = null;
  }

  readSummary(true);
  readMap();
  connect();
})();
