/*
 * One live WebSocket with what every page needs around it (used by queue.js and seatmap.js):
 *
 * - reconnects by itself with jittered exponential backoff (1 s doubling to 30 s, times 0.5-1.5), so a
 *   server restart does not bring every fan back in the same second, and resumes without a reload
 *   (the server sends a fresh exact reading or snapshot on every connect);
 * - a socket that has said nothing for `quietMs` is treated as dead (a proxy may hold a dead TCP
 *   connection open): it is closed and reopened;
 * - 4401 (logged out) and 4404 (no such event) will not get better by retrying: it stops;
 *   4429 (too many connections from this address) waits the longest backoff before retrying.
 *
 * TurnstileLive.open({path, quietMs, onMessage(message), onLive(isLive)}) returns
 * {send(object), isLive(), stop()}. `onLive(false)` is where a page falls back to polling.
 */
(function () {
  "use strict";

  var FIRST_DELAY_MS = 1000;
  var MAX_DELAY_MS = 30000;
  var GIVE_UP_CODES = { 4401: true, 4404: true };

  function open(options) {
    var socket = null;
    var live = false;
    var stopped = false;
    var delay = FIRST_DELAY_MS;
    var reconnectTimer = null;
    var quietTimer = null;
    var quietMs = options.quietMs || 75000;

    var told = false;

    function setLive(value) {
      if (live !== value || !told) { // the first failure is news too: the page starts polling
        told = true;
        live = value;
        if (options.onLive) { options.onLive(value); }
      }
    }

    function watchQuiet() {
      clearTimeout(quietTimer);
      quietTimer = setTimeout(function () {
        if (socket) { socket.close(4000, "quiet"); } // onclose reconnects
      }, quietMs);
    }

    function scheduleReconnect(wait) {
      clearTimeout(reconnectTimer);
      reconnectTimer = setTimeout(connect, wait * (0.5 + Math.random()));
    }

    function connect() {
      if (stopped || socket) { return; }
      if (!("WebSocket" in window)) { setLive(false); return; }
      var url = (window.location.protocol === "https:" ? "wss://" : "ws://") + window.location.host + options.path;
      var ws;
      try {
        ws = new window.WebSocket(url);
      } catch (error) {
        setLive(false);
        scheduleReconnect(delay);
        delay = Math.min(delay * 2, MAX_DELAY_MS);
        return;
      }
      socket = ws;
      ws.onopen = function () { watchQuiet(); };
      ws.onmessage = function (event) {
        var message;
        try {
          message = JSON.parse(event.data);
        } catch (error) {
          return;
        }
        delay = FIRST_DELAY_MS; // a working socket: the next failure retries quickly again
        watchQuiet();
        setLive(true);
        options.onMessage(message);
      };
      ws.onerror = function () { /* onclose follows */ };
      ws.onclose = function (event) {
        if (socket !== ws) { return; }
        socket = null;
        clearTimeout(quietTimer);
        setLive(false);
        if (stopped || GIVE_UP_CODES[event.code]) { return; }
        if (event.code === 4429) { delay = MAX_DELAY_MS; }
        scheduleReconnect(delay);
        delay = Math.min(delay * 2, MAX_DELAY_MS);
      };
    }

    connect();
    return {
      send: function (message) {
        if (socket && socket.readyState === 1) { socket.send(JSON.stringify(message)); }
      },
      isLive: function () { return live; },
      stop: function () {
        stopped = true;
        clearTimeout(reconnectTimer);
        clearTimeout(quietTimer);
        if (socket) { socket.close(1000); }
      }
    };
  }

  window.TurnstileLive = { open: open };
})();
