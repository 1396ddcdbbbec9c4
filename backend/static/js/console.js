// Console behaviour that would otherwise sit in inline handlers (which the Content-Security-Policy
// refuses): confirmation before irreversible actions, filters that apply on change, the overview's
// trend chart, and the mini-program code image of a binding code.
(function () {
  "use strict";

  // A form with data-confirm asks before it submits (ending a campaign, freezing, disqualifying,
  // revoking a source or token, regenerating codes).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // A select with data-autosubmit submits its form when changed.
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field && field.hasAttribute && field.hasAttribute("data-autosubmit") && field.form) {
      field.form.submit();
    }
  });

  function separated(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }
  function yuan(fen) {
    var sign = fen < 0 ? "-" : "";
    fen = Math.abs(fen);
    return sign + separated(Math.floor(fen / 100)) + "." + String(fen % 100).padStart(2, "0");
  }

  // The overview: net GMV per day over the last 14 days.
  function trendChart() {
    var el = document.getElementById("trend-chart");
    if (!el || !window.echarts) return;
    var days = JSON.parse(el.getAttribute("data-trend") || "[]");
    var chart = echarts.init(el);
    chart.setOption({
      animation: false,
      tooltip: {
        trigger: "axis", renderMode: "richText",
        formatter: function (items) {
          var d = days[items[0].dataIndex];
          return d.day + "\n净成交额 " + yuan(d.net_gmv_fen) + " 元\n订单 " + separated(d.order_count) + " 笔";
        }
      },
      grid: { left: 8, right: 16, top: 30, bottom: 8, containLabel: true },
      xAxis: {
        type: "category", data: days.map(function (d) { return d.day.slice(5).replace("-", "/"); }),
        axisLabel: { hideOverlap: true }
      },
      yAxis: {
        type: "value", name: "万元", nameTextStyle: { align: "right" },
        axisLabel: { formatter: function (v) { return separated(Math.round(v / 1e6 * 100) / 100); } }
      },
      series: [{
        type: "bar", barMaxWidth: 28, itemStyle: { color: "#c8102e", borderRadius: [3, 3, 0, 0] },
        data: days.map(function (d) { return d.net_gmv_fen; })
      }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
    document.body.setAttribute("data-chart", "1");
  }

  // A binding code's mini-program code: PNG bytes in a data attribute, decoded without a URL
  // (createImageBitmap), so the page needs no data: or blob: image source under the CSP.
  function wxaCode() {
    var canvas = document.getElementById("wxacode");
    if (!canvas || !window.createImageBitmap) return;
    var raw = atob(canvas.getAttribute("data-png"));
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    createImageBitmap(new Blob([bytes], { type: "image/png" })).then(function (image) {
      canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
      var link = document.getElementById("wxacode-download");
      if (link) {
        canvas.toBlob(function (png) {
          link.href = URL.createObjectURL(png);
          link.hidden = false;
        });
      }
      canvas.setAttribute("data-drawn", "1");
    });
  }

  function start() {
    trendChart();
    wxaCode();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
