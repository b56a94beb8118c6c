// The daily charts of the last 30 days (uPlot): volumes, then the bounce and the complaint rate, each
// against its SES thresholds. Today is still going on: its band is shaded and labelled as such.
import { api } from "./api.js";
import { fill, h, isoDaysAgo, number, percent, table } from "./dom.js";
import { addPanel } from "./panels.js";

const DAY = 86400;
const HEIGHT = 220;
const COLOURS = { sent: "#0b57d0", delivered: "#1a7f37", bounces: "#cf222e", complaints: "#8250df",
  review: "#9a6700", pause: "#cf222e" };
const charts = [];

addPanel({
  id: "volume",
  view: "overview",
  title: "Daily volumes, last 30 days",
  hint: "Recipients per day by send time (UTC). Bounces and complaints have their own scale, on the right.",
  wide: true,
  async load() {
    const since = isoDaysAgo(29);
    const stats = await api(`/api/stats?group_by=day&since=${encodeURIComponent(since)}`);
    drawAll(stats, since);
  },
});

function days(since, until) {
  const found = [];
  for (let t = Date.parse(since) / 1000; t < Date.parse(until) / 1000; t += DAY) {
    found.push(new Date(t * 1000).toISOString().slice(0, 10));
  }
  return found;
}

function drawAll(stats, since) {
  const byDay = new Map(stats.groups.map((g) => [g.key, g]));
  const dates = days(since, stats.until);
  const row = (key) => dates.map((day) => (byDay.get(day) || {})[key] || 0);
  const xs = dates.map((day) => Date.parse(`${day}T12:00:00Z`) / 1000); // each day's point at its middle
  const today = dates.length ? Date.parse(`${dates[dates.length - 1]}T00:00:00Z`) / 1000 : 0;
  const sum = (values) => values.reduce((a, b) => a + b, 0);
  const totals = stats.groups.reduce((t, g) => {
    for (const key of ["sent", "hard_bounces", "complaints"]) t[key] = (t[key] || 0) + g[key];
    return t;
  }, {});
  const rate = (key) => (totals.sent ? (totals[key] || 0) / totals.sent : 0);
  for (const chart of charts.splice(0)) chart.destroy();
  const body = fill("volume");
  body.dataset.days = String(stats.groups.length);
  const volume = h("div", { class: "chart", id: "volume-chart", role: "img",
    "aria-label": "Recipients sent and delivered per day; hard bounces and complaints per day on the right scale",
    "data-days": String(stats.groups.length) });
  const bounce = h("div", { class: "chart", id: "bounce-chart", role: "img",
    "aria-label": "Bounce rate per day, in percent, with the 5 % and 10 % thresholds" });
  const complaint = h("div", { class: "chart", id: "complaint-chart", role: "img",
    "aria-label": "Complaint rate per day, in percent, with the 0.1 % and 0.5 % thresholds" });
  body.append(volume, h("div", { class: "rate-charts" },
    h("figure", {}, h("figcaption", {}, "Bounce rate"), bounce),
    h("figure", {}, h("figcaption", {}, "Complaint rate"), complaint)),
  h("details", {}, h("summary", {}, "As a table"), h("div", { class: "table-wrap", id: "volume-table" },
    table(["Day", { text: "Sent", class: "num" }, { text: "Delivered", class: "num" },
      { text: "Hard bounces", class: "num" }, { text: "Complaints", class: "num" },
      { text: "Bounce rate", class: "num" }, { text: "Complaint rate", class: "num" }],
    stats.groups.map((g) => h("tr", {}, h("td", { class: "nowrap" }, g.key), h("td", { class: "num" }, number(g.sent)),
      h("td", { class: "num" }, number(g.delivered)), h("td", { class: "num" }, number(g.hard_bounces)),
      h("td", { class: "num" }, number(g.complaints)), h("td", { class: "num" }, percent(g.bounce_rate)),
      h("td", { class: "num" }, percent(g.complaint_rate, 3)))), "Nothing sent in the last 30 days."))));
  const span = [xs.length ? xs[0] - DAY / 2 : 0, xs.length ? xs[xs.length - 1] + DAY / 2 : DAY];
  const sent = row("sent");
  const delivered = row("delivered");
  const bounces = row("hard_bounces");
  const complaints = row("complaints");
  draw(volume, [xs, sent, delivered, bounces, complaints], span, today, [
    { label: "Sent", stroke: COLOURS.sent, scale: "n", total: number(sum(sent)) },
    { label: "Delivered", stroke: COLOURS.delivered, scale: "n", total: number(sum(delivered)) },
    { label: "Hard bounces", stroke: COLOURS.bounces, scale: "t", total: number(sum(bounces)) },
    { label: "Complaints", stroke: COLOURS.complaints, scale: "t", total: number(sum(complaints)) },
  ], {
    n: { range: (u, min, max) => [0, Math.max(4, max * 1.1)] },
    t: { range: (u, min, max) => [0, Math.max(4, max * 1.25)] },
  }, [{ scale: "n", values: counts }, { scale: "t", side: 1, grid: { show: false }, values: counts }], []);
  drawRate(bounce, xs, span, today, row("bounce_rate"), "Bounce rate", COLOURS.bounces, percent(rate("hard_bounces")),
    [[5, "5 %: under review"], [10, "10 %: pause risk"]], 2);
  drawRate(complaint, xs, span, today, row("complaint_rate"), "Complaint rate", COLOURS.complaints,
    percent(rate("complaints"), 3), [[0.1, "0.1 %: under review"], [0.5, "0.5 %: pause risk"]], 3);
}

const counts = (u, ticks) => ticks.map((t) => (Number.isInteger(t) ? number(t) : ""));

function drawRate(target, xs, span, today, rates, name, colour, overall, lines, digits) {
  const top = lines[lines.length - 1][0] * 1.3;
  draw(target, [xs, rates.map((r) => r * 100)], span, today,
    [{ label: `${name}, 30 days`, stroke: colour, scale: "%", total: overall }],
    { "%": { range: (u, min, max) => [0, Math.max(top, max * 1.15)] } },
    [{ scale: "%", values: (u, ticks) => ticks.map((t) => `${+t.toFixed(digits)}%`) }], lines);
}

function draw(target, data, span, today, series, scales, axes, thresholds) {
  if (typeof uPlot === "undefined") {
    target.append(h("p", { class: "error" }, "The chart library did not load."));
    return;
  }
  const ratio = window.devicePixelRatio || 1;
  const options = {
    width: Math.max(260, target.clientWidth || target.parentElement.clientWidth),
    height: HEIGHT,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    scales: { x: { time: true, range: () => span }, ...scales },
    series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, scale: s.scale,
      points: { show: true, size: 5 } }))],
    axes: [{ values: "{D} {MMM}" }, ...axes],
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    hooks: {
      // Under the lines: today's band, still filling up.
      drawClear: [(u) => {
        const left = u.valToPos(today, "x", true);
        const right = u.valToPos(today + DAY, "x", true);
        const { ctx, bbox } = u;
        ctx.save();
        ctx.fillStyle = "rgba(87, 96, 106, 0.12)";
        ctx.fillRect(left, bbox.top, right - left, bbox.height);
        ctx.fillStyle = "#57606a";
        ctx.font = `${11 * ratio}px system-ui, sans-serif`;
        ctx.textAlign = "center";
        ctx.fillText("today", (left + right) / 2, bbox.top + 12 * ratio);
        ctx.restore();
      }],
      // Over them: the thresholds, dashed, labelled at the left.
      draw: [(u) => {
        const { ctx, bbox } = u;
        for (const [value, text] of thresholds) {
          const y = u.valToPos(value, "%", true);
          ctx.save();
          ctx.strokeStyle = value === thresholds[0][0] ? COLOURS.review : COLOURS.pause;
          ctx.setLineDash([6 * ratio, 4 * ratio]);
          ctx.lineWidth = ratio;
          ctx.beginPath();
          ctx.moveTo(bbox.left, y);
          ctx.lineTo(bbox.left + bbox.width, y);
          ctx.stroke();
          ctx.fillStyle = ctx.strokeStyle;
          ctx.font = `${11 * ratio}px system-ui, sans-serif`;
          ctx.textAlign = "left";
          ctx.textBaseline = "bottom";
          ctx.fillText(text, bbox.left + 4 * ratio, y - 2 * ratio);
          ctx.restore();
        }
      }],
    },
  };
  const chart = new uPlot(options, data, target);
  target.chart = chart; // for the browser tests: what is plotted, and on which scale
  charts.push(chart);
  target.append(legend(series, thresholds));
}

function legend(series, thresholds) {
  return h("ul", { class: "legend" },
    series.map((s) => h("li", { "data-series": s.label }, swatch(s.stroke), `${s.label} `, h("strong", {}, s.total))),
    thresholds.map(([, text], i) => h("li", { class: "threshold" },
      h("span", { class: `swatch dashed ${i ? "pause" : "review"}` }), text)),
    h("li", {}, h("span", { class: "swatch today" }), "today, so far"));
}

function swatch(colour) {
  const element = h("span", { class: "swatch" });
  element.style.background = colour; // the CSSOM, which the page's CSP allows (a style attribute it would not)
  return element;
}

window.addEventListener("resize", () => {
  for (const chart of charts) {
    const width = Math.max(260, chart.root.parentElement.clientWidth);
    if (Math.abs(width - chart.width) > 4) chart.setSize({ width, height: HEIGHT });
  }
});
