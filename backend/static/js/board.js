// The board page (/boards/<slug>) and its big-screen mode (?screen=1): both top tens, the totals
// and net GMV by county, refreshed every 5 s. The 今日 tab switches all of them together: the
// tables from the published day boards, the totals and the chart from the day's breakdown.
// A static file, not an inline script, so the Content-Security-Policy can say script-src 'self'.
(function () {
  "use strict";
  var root = document.querySelector("[data-mode]");
  if (!root) return;
  var screenMode = root.getAttribute("data-mode") === "screen";
  var slug = root.getAttribute("data-slug");
  var countyNames = JSON.parse(root.getAttribute("data-counties") || "{}");
  var period = root.getAttribute("data-period") || "campaign";
  var api = "/v1/campaigns/" + encodeURIComponent(slug);
  var REFRESH_MS = 5000;
  var DESIGN = { width: 1920, height: 1080 };
  var generation = 0;  // a response for a period no longer shown is dropped
  var previous = { hosts: null, enterprises: null };  // ids shown last time, for the animations

  // -- numbers -------------------------------------------------------------------------------
  function separated(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ","); }
  function yuan(fen) {
    var sign = fen < 0 ? "-" : ""; fen = Math.abs(fen);
    return sign + separated(Math.floor(fen / 100)) + "." + String(fen % 100).padStart(2, "0");
  }
  function wan(fen) {  // 万元 with two decimals: 0.01 万元 = 10,000 fen
    var sign = fen < 0 ? "-" : ""; var hundredths = Math.round(Math.abs(fen) / 10000);
    return sign + separated(Math.floor(hundredths / 100)) + "." + String(hundredths % 100).padStart(2, "0");
  }
  // The page shows yuan; on a phone (and on the big screen) 万元, so names keep their room.
  function inWan() { return screenMode || window.innerWidth < 600; }
  function money(fen) { return inWan() ? wan(fen) : yuan(fen); }
  function labelUnits() {
    if (screenMode) return;
    var unit = inWan() ? "万元" : "元";
    document.querySelectorAll("[data-unit]").forEach(function (el) { el.textContent = unit; });
    document.querySelectorAll("[data-gmv-header]").forEach(function (el) { el.textContent = "净成交额（" + unit + "）"; });
  }

  // -- Beijing time --------------------------------------------------------------------------
  var beijing = new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
    minute: "2-digit", second: "2-digit", hour12: false
  });
  var weekday = new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", weekday: "long" });
  function beijingParts(date) {
    var parts = {};
    beijing.formatToParts(date).forEach(function (p) { parts[p.type] = p.value; });
    if (parts.hour === "24") parts.hour = "00";
    return parts;
  }
  function beijingText(date, withDate) {
    var p = beijingParts(date);
    var time = p.hour + ":" + p.minute + ":" + p.second;
    return withDate ? p.year + "-" + p.month + "-" + p.day + " " + time : time;
  }
  function tickClock() {
    var now = new Date();
    var clock = document.getElementById("clock");
    if (clock) clock.textContent = beijingText(now, true) + (screenMode ? " " + weekday.format(now) : "");
  }

  // -- the big screen: one 1920×1080 design, scaled to the display and letterboxed ------------
  function fit() {
    if (!screenMode) return;
    var scale = Math.min(window.innerWidth / DESIGN.width, window.innerHeight / DESIGN.height);
    var left = (window.innerWidth - DESIGN.width * scale) / 2;
    var top = (window.innerHeight - DESIGN.height * scale) / 2;
    root.style.transform = "translate(" + left + "px," + top + "px) scale(" + scale + ")";
    root.setAttribute("data-scale", scale.toFixed(4));
  }

  // -- requests ------------------------------------------------------------------------------
  function getJSON(path) {
    return fetch(api + path, { headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    });
  }
  function sum(rows, key) { return rows.reduce(function (total, r) { return total + (r[key] || 0); }, 0); }

  // What the page shows for the chosen period, from the public API.
  function load() {
    if (period === "today") {
      return Promise.all([getJSON("/boards?period=today"), getJSON("/boards?period=day"),
                          getJSON("/breakdown?period=day&dimension=county")]).then(function (got) {
        var shown = got[0], day = got[1], counties = got[2];
        return {
          boards: shown, updatedAt: shown.updated_at || day.computed_at,
          gmv: counties.net_gmv_fen, orders: sum(counties.rows, "order_count"),
          ranked: { hosts: day.ranked_hosts, enterprises: day.ranked_enterprises },
          counties: counties.rows.map(function (r) { return { county: r.value, net: r.net_gmv_fen }; })
        };
      });
    }
    return Promise.all([getJSON("/boards?period=campaign"), getJSON("/summary")]).then(function (got) {
      var shown = got[0], summary = got[1];
      return {
        boards: shown, updatedAt: shown.updated_at || summary.updated_at,
        gmv: summary.net_gmv_fen, orders: summary.order_count,
        ranked: { hosts: summary.ranked_hosts, enterprises: summary.ranked_enterprises },
        counties: (summary.net_gmv_by_county || []).map(function (r) { return { county: r.county, net: r.net_gmv_fen }; })
      };
    });
  }

  // -- totals --------------------------------------------------------------------------------
  function setText(id, text) { var el = document.getElementById(id); if (el) el.textContent = text; }
  function renderTotals(data) {
    setText("t-gmv", money(data.gmv || 0));
    setText("t-orders", separated(data.orders || 0));
    ["hosts", "enterprises"].forEach(function (board) {
      var onBoard = (data.boards[board] || []).length;  // people actually on the board (top ten)
      var ranked = data.ranked[board] || 0;
      setText("t-" + board, separated(onBoard));
      setText("t-" + board + "-all", ranked ? "共 " + separated(ranked) + (board === "hosts" ? " 人" : " 家") + "有成交" : "");
    });
  }

  // -- tables --------------------------------------------------------------------------------
  function arrow(e) {
    var span = document.createElement("span");
    if (e.movement === "up" && e.previous_rank) { span.className = "up"; span.textContent = "▲" + (e.previous_rank - e.rank); }
    else if (e.movement === "down" && e.previous_rank) { span.className = "down"; span.textContent = "▼" + (e.rank - e.previous_rank); }
    else if (e.movement === "new") { span.className = "new"; span.textContent = "新"; }
    else return null;
    return span;
  }
  function cell(tag, className, text) {
    var el = document.createElement(tag); el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  // Rows that moved slide from where they were (FLIP); new entries are highlighted.
  function animate(container, rows, before, seen) {
    rows.forEach(function (row) {
      var id = row.getAttribute("data-id");
      if (seen && !seen[id]) {
        row.classList.add("fresh");
      } else if (before[id] !== undefined) {
        var scale = parseFloat(root.getAttribute("data-scale") || "1");
        var delta = (before[id] - row.getBoundingClientRect().top) / scale;
        if (Math.abs(delta) > 1) {
          row.classList.add(delta > 0 ? "rose" : "fell");
          row.style.transition = "none";
          row.style.transform = "translateY(" + delta + "px)";
        }
      }
    });
    void container.offsetHeight;  // apply the start positions before transitioning away from them
    rows.forEach(function (row) {
      if (row.style.transform) {
        row.style.transition = "transform 900ms cubic-bezier(.2,.8,.2,1)";
        row.style.transform = "";
      }
    });
    window.setTimeout(function () {
      rows.forEach(function (row) { row.classList.remove("fresh", "rose", "fell"); row.style.transition = ""; });
    }, 2600);
  }

  function renderBoard(board, entries, animateRows) {
    var container = screenMode ? document.querySelector("#board-" + board + " .s-body")
                               : document.querySelector("#board-" + board + " tbody");
    if (!container) return;
    var before = {};
    Array.prototype.forEach.call(container.children, function (row) {
      var id = row.getAttribute("data-id");
      if (id) before[id] = row.getBoundingClientRect().top;
    });
    container.textContent = "";
    if (!entries.length) {
      var empty = screenMode ? cell("div", "s-empty", "暂无成交") : document.createElement("tr");
      if (!screenMode) { var td = cell("td", "empty", "暂无数据"); td.colSpan = 4; empty.appendChild(td); }
      container.appendChild(empty);
      previous[board] = {};
      return;
    }
    var rows = entries.map(function (e) {
      var row = screenMode ? cell("div", "s-row entry r" + Math.min(e.rank, 4)) : cell("tr", "entry");
      row.setAttribute("data-id", e.id);
      var tag = screenMode ? "span" : "td";
      var rank = cell(tag, screenMode ? "c-rank" : "rank");
      rank.appendChild(cell("span", "rank-no", String(e.rank)));
      var moved = arrow(e);
      if (moved) rank.appendChild(moved);
      var name = cell(tag, screenMode ? "c-name name" : "name", e.name);
      name.title = e.name;
      var gmv = cell(tag, screenMode ? "c-gmv" : "num", money(e.net_gmv_fen));
      var orders = cell(tag, screenMode ? "c-orders" : "num", separated(e.order_count));
      [rank, name, gmv, orders].forEach(function (c) { row.appendChild(c); });
      container.appendChild(row);
      return row;
    });
    if (animateRows) animate(container, rows, before, previous[board]);
    previous[board] = {};
    entries.forEach(function (e) { previous[board][e.id] = true; });
  }

  // -- chart ---------------------------------------------------------------------------------
  var chart = null;
  function narrow() { return !screenMode && window.innerWidth < 600; }
  function renderChart(rows) {
    if (!window.echarts) return;
    var el = document.getElementById("chart");
    if (!el) return;
    if (!chart) chart = echarts.init(el, null, { renderer: screenMode ? "svg" : "canvas" });
    var byCounty = {};
    rows.forEach(function (r) { byCounty[r.county] = (byCounty[r.county] || 0) + r.net; });
    Object.keys(countyNames).forEach(function (code) { if (!(code in byCounty)) byCounty[code] = 0; });
    var ordered = Object.keys(byCounty).sort(function (a, b) { return byCounty[b] - byCounty[a]; });
    var small = narrow();
    var ink = screenMode ? "#cfe0ff" : "#1d1d1f";
    var faint = screenMode ? "rgba(150,180,230,.18)" : "#eee";
    var rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
    var font = screenMode ? 22 : Math.round(rem * (small ? 0.75 : 0.875));
    chart.setOption({
      animationDuration: 600, animationDurationUpdate: 800,
      tooltip: screenMode ? undefined : {
        trigger: "axis", renderMode: "richText",  // no HTML: nothing for CSP to refuse
        formatter: function (items) { return items[0].name + "：" + wan(byCounty[ordered[items[0].dataIndex]]) + " 万元"; }
      },
      grid: { left: 4, right: Math.round(font * (screenMode ? 4.4 : 5)), top: 8, bottom: 4, containLabel: true },
      xAxis: {
        type: "value", splitNumber: screenMode ? 4 : (small ? 3 : 5),
        axisLabel: { color: ink, fontSize: font - 2, hideOverlap: true,
                     formatter: function (v) { return separated(Math.round(v / 1e4) / 100); } },
        splitLine: { lineStyle: { color: faint } }
      },
      yAxis: {
        type: "category", inverse: true,
        data: ordered.map(function (code) { return countyNames[code] || code || "未知"; }),
        axisLabel: { color: ink, fontSize: font, width: font * 4.2, overflow: "truncate" },
        axisLine: { lineStyle: { color: faint } }, axisTick: { show: false }
      },
      series: [{
        type: "bar", barMaxWidth: screenMode ? 42 : Math.round(font * 1.9),
        itemStyle: screenMode ? {
          borderRadius: [0, 6, 6, 0],
          color: new echarts.graphic.LinearGradient(0, 0, 1, 0, [{ offset: 0, color: "#ff5a36" }, { offset: 1, color: "#ffcf4a" }])
        } : { color: "#c8102e", borderRadius: [0, 3, 3, 0] },
        label: { show: true, position: "right", color: screenMode ? "#ffe7a3" : "#555", fontSize: font - 2,
                 formatter: function (p) { return wan(byCounty[ordered[p.dataIndex]]); } },
        data: ordered.map(function (code) { return byCounty[code]; })
      }]
    });
  }

  // -- refresh -------------------------------------------------------------------------------
  var animateNext = false;
  var lastData = null;
  function show(data, animateRows) {
    labelUnits();
    renderTotals(data);
    renderBoard("hosts", data.boards.hosts || [], animateRows);
    renderBoard("enterprises", data.boards.enterprises || [], animateRows);
    renderChart(data.counties);
  }
  function refresh() {
    var mine = ++generation;
    load().then(function (data) {
      if (mine !== generation) return;
      lastData = data;
      show(data, animateNext);
      animateNext = true;
      setText("updated", data.updatedAt ? "更新于 " + beijingText(new Date(data.updatedAt), !screenMode) : "暂无数据");
      document.body.setAttribute("data-loaded", "1");
    }).catch(function () {
      if (mine === generation) setText("updated", "连接中断，正在重试…");
    });
  }

  function choose(next) {
    if (next === period) return;
    period = next;
    animateNext = false;  // a new period is a new board, not a movement
    previous = { hosts: null, enterprises: null };
    document.querySelectorAll(".tabs button").forEach(function (b) {
      var on = b.getAttribute("data-period") === period;
      b.classList.toggle("on", on);
      b.setAttribute("aria-selected", on ? "true" : "false");
    });
    document.querySelectorAll("[data-scope]").forEach(function (el) { el.textContent = period === "today" ? "今日" : "活动累计"; });
    refresh();
  }
  document.querySelectorAll(".tabs button").forEach(function (b) {
    b.addEventListener("click", function () { choose(b.getAttribute("data-period")); });
  });
  document.querySelectorAll("[data-scope]").forEach(function (el) { el.textContent = period === "today" ? "今日" : "活动累计"; });

  window.addEventListener("resize", function () {
    fit();
    if (chart && !screenMode) chart.resize();
    if (lastData && !screenMode) show(lastData, false);
  });
  fit();
  tickClock();
  window.setInterval(tickClock, 1000);
  refresh();
  window.setInterval(refresh, REFRESH_MS);
})();
