// The reputation gauges: the bounce and complaint rates of the last 7 days against the SES thresholds.
import { api } from "./api.js";
import { counted, fill, h, percent, when } from "./dom.js";
import { addPanel } from "./panels.js";

// The SES thresholds (docs/suppression-and-reputation.md), and how far each gauge's bar reaches.
const GAUGES = [
  { key: "bounce", title: "Bounce rate", thresholds: [0.05, 0.10], scale: 0.15,
    detail: (t) => `${counted(t.hard_bounces, "hard bounce")}, ${counted(t.sent, "recipient")} sent` },
  { key: "complaint", title: "Complaint rate", thresholds: [0.001, 0.005], scale: 0.0075,
    detail: (t) => `${counted(t.complaints, "complaint")}, ${counted(t.sent, "recipient")} sent` },
];
const LEVELS = { healthy: "Healthy", under_review: "Under review", pause_risk: "Pause risk" };

addPanel({
  id: "gauges",
  view: "overview",
  title: "Reputation",
  hint: "Against the thresholds at which SES reviews an account and may pause its sending.",
  wide: true,
  async load() {
    const stats = await api("/api/stats");
    fill("gauges", h("p", { class: "hint window", id: "window", title: `${when(stats.since)} to ${when(stats.until)}` },
      "Last 7 days by send time: ", h("span", { class: "nowrap" }, stats.since.slice(0, 10)), " to ",
      h("span", { class: "nowrap" }, stats.until.slice(0, 10))),
    h("div", { class: "gauges" }, GAUGES.map((gauge) => renderGauge(gauge, stats.totals))));
  },
});

function renderGauge(gauge, totals) {
  const rate = totals[`${gauge.key}_rate`];
  // With nothing sent there is no rate: not "Healthy 0.00 %".
  const level = totals.sent ? totals[`${gauge.key}_level`] : "none";
  const bar = h("div", { class: "fill" });
  bar.style.width = `${Math.min(100, (rate / gauge.scale) * 100)}%`;
  const marks = gauge.thresholds.map((threshold) => {
    const mark = h("div", { class: "mark" }, h("span", {}, percent(threshold, threshold < 0.01 ? 1 : 0)));
    mark.style.left = `${(threshold / gauge.scale) * 100}%`;
    return mark;
  });
  const text = totals.sent ? percent(rate) : "–";
  return h("div", { class: "gauge", id: `gauge-${gauge.key}`, "data-level": level, "data-rate": rate },
    h("h3", {}, gauge.title),
    h("div", { class: "value" }, text),
    h("div", { class: "meter", role: "meter", "aria-label": gauge.title, "aria-valuemin": 0,
      "aria-valuemax": gauge.scale, "aria-valuenow": rate,
      "aria-valuetext": totals.sent ? `${text}, ${LEVELS[level]}` : "nothing sent" }, bar, marks),
    h("div", { class: "level" }, totals.sent ? LEVELS[level] : "Nothing sent in these 7 days"),
    h("p", { class: "detail" }, gauge.detail(totals)));
}
