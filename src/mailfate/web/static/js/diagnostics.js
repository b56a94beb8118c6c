// Where the trouble is, and why: the figures of each mailbox provider, and the top bounce and complaint
// reasons with the provider that gave them (docs/insights.md). The last 7 days by send time, as the
// gauges above.
import { api } from "./api.js";
import { fill, h, number, percent, table } from "./dom.js";
import { messageLink } from "./links.js";
import { addPanel } from "./panels.js";

const PROVIDERS = { google: "Google", microsoft: "Microsoft", yahoo: "Yahoo", apple: "Apple" };
const KINDS = { bounce: ["bounced", "Hard bounce"], soft_bounce: ["soft_bounced", "Soft bounce"],
  complaint: ["complained", "Complaint"] };
const LEVELS = { healthy: "healthy", under_review: "under review", pause_risk: "pause risk" };

// A provider by its name; a company's own mail server by its recipient domain.
const providerName = (key) => PROVIDERS[key] || key || "unknown";

function rate(figures, metric) {
  const level = figures[`${metric}_level`];
  return h("span", { class: "rate", "data-level": level, title: LEVELS[level] }, percent(figures[`${metric}_rate`]));
}

function millis(ms) {
  if (ms === null || ms === undefined) return "–";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

addPanel({
  id: "providers",
  view: "overview",
  title: "By mailbox provider",
  hint: "Is one provider refusing your mail? Recipients sent in the last 7 days, and how long delivery took.",
  wide: true,
  async load() {
    const stats = await api("/api/stats?group_by=provider");
    const groups = stats.groups.slice(0, 12);
    fill("providers", h("div", { class: "table-wrap" }, table(
      ["Provider", { text: "Sent", class: "num" }, { text: "Bounce rate", class: "num" },
        { text: "Complaint rate", class: "num" }, { text: "Delivery p50", class: "num" },
        { text: "p95", class: "num" }],
      groups.map((g) => h("tr", { "data-provider": g.key || "" },
        h("td", {}, providerName(g.key)), h("td", { class: "num" }, number(g.sent)),
        h("td", { class: "num" }, rate(g, "bounce")), h("td", { class: "num" }, rate(g, "complaint")),
        h("td", { class: "num" }, millis(g.delivery_p50_ms)), h("td", { class: "num" }, millis(g.delivery_p95_ms)))),
      "Nothing sent in these 7 days.", { id: "providers-table" })));
  },
});

addPanel({
  id: "diagnostics",
  view: "overview",
  title: "Why mail bounces",
  hint: "The most frequent reasons of the last 7 days, with what differs per recipient masked (addresses, ids, numbers).",
  wide: true,
  async load() {
    const found = await api("/api/diagnostics?limit=10");
    fill("diagnostics", h("div", { class: "table-wrap" }, table(
      ["Reason", "Kind", "Provider", { text: "Recipients", class: "num" }, "Example"],
      found.reasons.map((r) => h("tr", { "data-kind": r.kind },
        h("td", { class: "reason mono" }, r.reason),
        h("td", {}, h("span", { class: `badge ${KINDS[r.kind][0]}` }, KINDS[r.kind][1])),
        h("td", {}, providerName(r.provider)),
        h("td", { class: "num" }, number(r.count)),
        h("td", {}, r.examples.length ? messageLink(r.examples[0]) : "–"))),
      "No bounce or complaint in these 7 days.", { id: "diagnostics-table" })));
  },
});
