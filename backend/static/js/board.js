// The board page (/boards/<slug>): both top tens and GMV by county, refreshed every 5 s.
// A static file, not an inline script, so the Content-Security-Policy can say script-src 'self'.
(function () {
  var root = document.getElementById("board");
  var slug = root.getAttribute("data-slug");
  var countyNames = JSON.parse(root.getAttribute("data-counties") || "{}");
  var period = "campaign";
  var chart = window.echarts ? echarts.init(document.getElementById("chart")) : null;
  function yuan(fen) {
    var sign = fen < 0 ? "-" : ""; fen = Math.abs(fen);
    var y = Math.floor(fen / 100), f = String(fen % 100).padStart(2, "0");
    return sign + y.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",") + "." + f;
  }
  function arrow(e) {
    if (e.movement === "up") return ' <span class="up">▲' + (e.previous_rank - e.rank) + '</span>';
    if (e.movement === "down") return ' <span class="down">▼' + (e.rank - e.previous_rank) + '</span>';
    if (e.movement === "new") return ' <span class="new">新</span>';
    return "";
  }
  function fill(board, entries) {
    var body = document.querySelector("#board-" + board + " tbody");
    body.textContent = "";
    if (!entries.length) {
      var tr = document.createElement("tr"); var td = document.createElement("td");
      td.colSpan = 4; td.textContent = "暂无数据"; tr.appendChild(td); body.appendChild(tr); return;
    }
    entries.forEach(function (e) {
      var tr = document.createElement("tr");
      tr.className = "entry";
      var rank = document.createElement("td"); rank.className = "rank"; rank.innerHTML = e.rank + arrow(e);
      var name = document.createElement("td"); name.className = "name"; name.textContent = e.name;
      var gmv = document.createElement("td"); gmv.className = "num"; gmv.textContent = yuan(e.net_gmv_fen);
      var orders = document.createElement("td"); orders.className = "num"; orders.textContent = e.order_count;
      [rank, name, gmv, orders].forEach(function (td) { tr.appendChild(td); });
      body.appendChild(tr);
    });
  }
  function refresh() {
    fetch("/v1/campaigns/" + encodeURIComponent(slug) + "/boards?period=" + period)
      .then(function (r) { return r.json(); })
      .then(function (data) {
        fill("hosts", data.hosts || []); fill("enterprises", data.enterprises || []);
        document.getElementById("updated").textContent = data.updated_at ? "更新于 " + new Date(data.updated_at).toLocaleString("zh-CN") : "暂无数据";
        document.body.setAttribute("data-loaded", "1");
      }).catch(function () { document.getElementById("updated").textContent = "连接中断，正在重试…"; });
    fetch("/v1/campaigns/" + encodeURIComponent(slug) + "/summary")
      .then(function (r) { return r.json(); })
      .then(function (s) {
        document.getElementById("t-gmv").textContent = yuan(s.net_gmv_fen || 0);
        document.getElementById("t-orders").textContent = s.order_count || 0;
        document.getElementById("t-hosts").textContent = s.ranked_hosts || 0;
        document.getElementById("t-enterprises").textContent = s.ranked_enterprises || 0;
        if (chart) {
          var rows = s.net_gmv_by_county || [];
          chart.setOption({
            tooltip: { trigger: "axis", renderMode: "richText" },  // no HTML: nothing for CSP to refuse
            grid: { left: 90, right: 20, top: 20, bottom: 30 },
            xAxis: { type: "value", name: "元" },
            yAxis: { type: "category", inverse: true, data: rows.map(function (r) { return countyNames[r.county] || r.county; }) },
            series: [{ type: "bar", itemStyle: { color: "#c8102e" }, data: rows.map(function (r) { return r.net_gmv_fen / 100; }) }]
          });
        }
      }).catch(function () {});
  }
  document.querySelectorAll(".tabs button").forEach(function (b) {
    b.addEventListener("click", function () {
      document.querySelectorAll(".tabs button").forEach(function (x) { x.classList.remove("on"); });
      b.classList.add("on"); period = b.getAttribute("data-period"); refresh();
    });
  });
  window.addEventListener("resize", function () { if (chart) chart.resize(); });
  refresh();
  setInterval(refresh, 5000);
})();
