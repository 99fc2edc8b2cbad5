/*
 * Seat map: picking seats (htmx posts to the hold / release views, which answer with the summary partial)
 * and live availability over a WebSocket (/ws/events/<event id>/seats/, see bookings/consumers.py), with
 * polling of a small JSON endpoint whenever the socket is not open. The clock is static/js/clock.js.
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
  // Seat sizes: never under 24 px (WCAG 2.5.8); 2.75rem = 44 px, the touch size (WCAG 2.5.5).
  var ZOOM_REM = [1.6, 2, 2.4, 2.75, 3.25];
  var TOUCH_ZOOM = 3;
  var PHONE = window.matchMedia ? window.matchMedia("(max-width: 640px)") : null;
  var SEAT_SELECTOR = ".seat-grid button";

  var app = document.getElementById("seat-map-app");
  if (!app) { return; }

  var holdUrl = app.dataset.holdUrl;
  var releaseUrl = app.dataset.releaseUrl;
  var statesUrl = app.dataset.statesUrl;
  var wsPath = app.dataset.wsPath;

  var remote = {};            // seat id -> "held" | "sold" as every fan sees it (absent: available)
  var mine = {};              // seat id -> true: the fan's holds, per the last summary
  var pending = {};           // seat id -> true: a hold / release is on its way
  // Phones start with seats the size of a fingertip; bigger screens see more of the venue.
  var zoomIndex = PHONE && PHONE.matches ? TOUCH_ZOOM : 0;

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

  // The others' seats as the server drew them (page load, section tab). The server draws a section at
  // most a second before sending it, so while the socket is live what it pushed since is fresher (its
  // snapshot covers every seat of the event): then the new seats are painted from that instead.
  function readMap() {
    var seats = allSeats();
    for (var i = 0; i < seats.length && !socketLive; i++) {
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

  // Spoken (polite): what the last tap or key press did. ``visible``: also shown on screen (a refusal
  // needs it; "2 seats held" is already in the bar).
  function announce(text, visible) {
    var region = app.querySelector("[data-seat-announce]");
    if (!region) { return; }
    region.classList.toggle("is-visible", Boolean(visible));
    region.textContent = text;
  }

  function seatName(el) {
    var label = el.getAttribute("aria-label") || "";
    return label.split(", ").slice(0, 3).join(", ");
  }

  // --- Holds and releases (htmx) ---------------------------------------------------------------------

  function toggle(el) {
    var id = seatId(el);
    if (pending[id]) { return; }
    var state = shownState(id);
    if (state !== "available" && state !== "held_by_me") {
      announce(seatName(el) + " is " + STATE_TEXT[state] + ". Please choose another seat.", true);
      el.classList.remove("is-refused");
      void el.offsetWidth; // restart the animation
      el.classList.add("is-refused");
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
      announce(""); // the summary's own alert says it
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
    if (!target || target.id !== "seat-map") { readSummary(); }
  });
  // A new section is painted once htmx has settled it: settling sets each seat's class to the one the
  // server drew, which may be a second old (readMap).
  document.body.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (target && target.id === "seat-map") { readMap(); }
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

  // Left / right follow the row, and carry on into the same row of the next (or previous) section, as
  // the sections sit side by side in the venue. Up / down go to the nearest seat above or below on screen,
  // so they also cross into a section drawn below. Home / End: first / last seat of the row.
  function rowOf(grid, gridRow) {
    return Array.prototype.filter.call(grid.querySelectorAll("button"), function (seat) {
      return seat.style.gridRowStart === gridRow;
    });
  }

  function acrossSections(el, step) {
    var section = el.closest(".seat-section");
    var next = section;
    do {
      next = step > 0 ? next.nextElementSibling : next.previousElementSibling;
    } while (next && !next.querySelector(".seat-grid button"));
    if (!next) { return null; }
    var grid = next.querySelector(".seat-grid");
    var row = rowOf(grid, el.style.gridRowStart);
    if (!row.length) {
      var seats = grid.querySelectorAll("button");
      return step > 0 ? seats[0] : seats[seats.length - 1];
    }
    return step > 0 ? row[0] : row[row.length - 1];
  }

  function centre(el) {
    var box = el.getBoundingClientRect();
    return { x: box.left + box.width / 2, y: box.top + box.height / 2, size: box.height };
  }

  function aboveOrBelow(el, step) {
    var seats = allSeats();
    var here = centre(el);
    var best = null;
    var bestScore = Infinity;
    for (var i = 0; i < seats.length; i++) {
      if (seats[i] === el) { continue; }
      var there = centre(seats[i]);
      if (!there.size) { continue; } // not drawn
      var along = ((there.y - here.y) * step) / here.size;
      if (along < 0.5) { continue; }
      // The nearest row first, then the nearest column in it.
      var score = Math.round(along * 4) * 1000 + Math.abs(there.x - here.x) / here.size;
      if (score < bestScore) { bestScore = score; best = seats[i]; }
    }
    return best;
  }

  function neighbour(el, key) {
    var row = rowOf(el.parentElement, el.style.gridRowStart);
    var index = row.indexOf(el);
    if (key === "Home") { return row[0]; }
    if (key === "End") { return row[row.length - 1]; }
    if (key === "ArrowLeft") { return row[index - 1] || acrossSections(el, -1); }
    if (key === "ArrowRight") { return row[index + 1] || acrossSections(el, 1); }
    return aboveOrBelow(el, key === "ArrowDown" ? 1 : -1);
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
