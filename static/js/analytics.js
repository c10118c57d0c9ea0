// Analytics charts: every <canvas data-chart="name"> is drawn from the JSON of <script id="name">.
// The same numbers are in the table next to each chart; without JavaScript the tables remain.
(function () {
  "use strict";
  if (typeof Chart === "undefined") return;

  document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
    const source = document.getElementById(canvas.dataset.chart);
    if (!source) return;
    const spec = JSON.parse(source.textContent);
    canvas.parentElement.style.position = "relative";
    canvas.parentElement.style.height = "320px";
    const scales = {};
    if (spec.type !== "bubble") {
      scales.x = { stacked: spec.stacked };
      scales.y = { stacked: spec.stacked, beginAtZero: true };
      if (spec.datasets.some((d) => d.yAxisID === "y1")) {
        scales.y1 = { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } };
      }
    } else {
      scales.x = { min: 0, max: 6, title: { display: true, text: "F" } };
      scales.y = { min: 0, max: 6, title: { display: true, text: "R" } };
      const largest = Math.max(1, ...spec.datasets[0].data.map((p) => p.r));
      spec.datasets[0].data = spec.datasets[0].data.map((p) => ({ ...p, count: p.r, r: 3 + (25 * p.r) / largest }));
    }
    new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: spec.datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        scales: scales,
        plugins: {
          title: { display: Boolean(spec.title), text: spec.title },
          tooltip: spec.type === "bubble"
            ? { callbacks: { label: (ctx) => `R${ctx.raw.y} F${ctx.raw.x}: ${ctx.raw.count}` } }
            : {},
        },
      },
    });
  });

  // Heat map: shade each cell by its share of the largest cell.
  const cells = document.querySelectorAll(".rfm-heatmap td[data-heat]");
  const max = Math.max(1, ...Array.from(cells, (td) => Number(td.dataset.heat)));
  cells.forEach((td) => {
    const share = Number(td.dataset.heat) / max;
    td.style.backgroundColor = `rgba(13, 110, 253, ${(0.08 + 0.6 * share).toFixed(2)})`;
    if (share > 0.6) td.style.color = "#fff";
  });
})();
