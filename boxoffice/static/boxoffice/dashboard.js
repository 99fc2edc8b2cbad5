// Box-office charts: the last hour of samples (boxoffice:history), redrawn every few seconds with uPlot.
(function () {
  "use strict";
  var section = document.querySelector(".bo-charts");
  if (!section || typeof uPlot === "undefined") return;
  var url = section.dataset.historyUrl;
  var charts = {};

  // Counter totals -> per-minute rates between consecutive samples.
  function perMinute(t, totals) {
    return totals.map(function (value, i) {
      if (i === 0 || t[i] <= t[i - 1]) return null;
      return Math.max(value - totals[i - 1], 0) * 60 / (t[i] - t[i - 1]);
    });
  }

  function draw(id, series, data) {
    var element = document.getElementById(id);
    var width = Math.max(element.clientWidth, 320);
    if (charts[id]) {
      charts[id].setData(data);
      return;
    }
    element.innerHTML = "";
    charts[id] = new uPlot({
      title: element.dataset.title,
      width: width,
      height: 220,
      series: [{}].concat(series),
      axes: [{}, { size: 60 }],
    }, data, element);
  }

  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (!body) return;
        var s = body.series;
        draw("chart-queue", [
          { label: "waiting", stroke: "#d9480f", width: 2 },
          { label: "admitted now", stroke: "#2b8a3e", width: 2 },
          { label: "pre-queue", stroke: "#868e96" },
        ], [s.t, s.waiting, s.admitted_now, s.prequeue]);
        draw("chart-rates", [
          { label: "joins/min", stroke: "#1971c2", width: 2 },
          { label: "admissions/min", stroke: "#2b8a3e", width: 2 },
        ], [s.t, perMinute(s.t, s.joins_total), perMinute(s.t, s.admitted_total)]);
        draw("chart-seats", [
          { label: "sold", stroke: "#5f3dc4", width: 2 },
          { label: "held", stroke: "#e67700", width: 2 },
        ], [s.t, s.seats_sold, s.seats_held]);
      })
      .catch(function () { /* the next tick tries again */ });
  }

  refresh();
  setInterval(refresh, 5000);
})();
