// mailfate dashboard: reads the JSON API of the server that served it. No framework, no build step.
// The DOM is built with createElement and textContent only: nothing from the API is parsed as HTML.
"use strict";

const TOKEN_KEY = "mailfate-token";
const DAY = 86400;
// The SES thresholds (docs/suppression-and-reputation.md), and how far each gauge's bar reaches.
const GAUGES = [
  { key: "bounce", title: "Bounce rate", thresholds: [0.05, 0.10], scale: 0.15,
    detail: (t) => `${t.hard_bounces} hard bounces, ${t.sent} recipients sent` },
  { key: "complaint", title: "Complaint rate", thresholds: [0.001, 0.005], scale: 0.0075,
    detail: (t) => `${t.complaints} complaints, ${t.sent} recipients sent` },
];
const LEVELS = { healthy: "Healthy", under_review: "Under review", pause_risk: "Pause risk" };

// -- talking to the API --------------------------------------------------------------------------

class ApiError extends Error {
  constructor(message, status) { super(message); this.status = status; }
}

let tokenPrompt = null; // one prompt at a time, however many requests were refused

async function api(path, options = {}, onResponse = null) {
  const headers = { ...(options.headers || {}) };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401) {
    // Refused with a token that has since been replaced (another request's prompt): just try the new one.
    if (sessionStorage.getItem(TOKEN_KEY) === token) await askToken(token ? "That token was refused." : "");
    return api(path, options, onResponse);
  }
  if (onResponse) onResponse(response);
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : null;
  if (!response.ok) throw new ApiError((body && body.error) || response.statusText, response.status);
  return body;
}

// A page of a list answered as an array, and the URL of the next page (its Link header) or null.
async function apiPage(path) {
  let next = null;
  const body = await api(path, {}, (response) => {
    const link = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get("link") || "");
    next = link ? link[1] : null;
  });
  return { body, next };
}

function askToken(message) {
  if (tokenPrompt) return tokenPrompt;
  const dialog = document.getElementById("token-dialog");
  const form = document.getElementById("token-form");
  const input = document.getElementById("token");
  document.getElementById("token-error").textContent = message;
  tokenPrompt = new Promise((resolve) => {
    form.addEventListener("submit", () => {
      sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      input.value = "";
      tokenPrompt = null;
      resolve();
    }, { once: true });
  });
  dialog.showModal();
  input.focus();
  return tokenPrompt;
}

// -- small DOM helpers ---------------------------------------------------------------------------

function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

function fill(id, ...children) {
  const target = document.getElementById(id);
  target.replaceChildren(...children.flat());
  return target;
}

function table(headings, rows, empty) {
  if (!rows.length) return h("p", { class: "hint" }, empty);
  return h("table", {},
    h("thead", {}, h("tr", {}, headings.map((text) => h("th", { scope: "col" }, text)))),
    h("tbody", {}, rows));
}

const percent = (fraction, digits = 2) => `${(fraction * 100).toFixed(digits)}%`;
const when = (stamp) => (stamp ? stamp.replace("T", " ").replace(/\.\d+Z$/, "Z") : "–");
const badge = (status) => h("span", { class: `badge ${status}` }, status.replace("_", " "));
const failure = (error) => h("p", { class: "error", role: "alert" }, `Could not load: ${error.message}`);

function messageLink(id) {
  return h("button", { type: "button", class: "link", "data-message": id, onclick: () => search(id) }, id);
}

function isoDaysAgo(days) {
  const start = new Date(Date.now() - days * DAY * 1000);
  start.setUTCHours(0, 0, 0, 0);
  return start.toISOString();
}

// -- reputation gauges ---------------------------------------------------------------------------

async function loadGauges() {
  try {
    const stats = await api("/api/stats");
    const totals = stats.totals;
    fill("gauges", GAUGES.map((gauge) => renderGauge(gauge, totals)));
    const windowText = document.getElementById("window");
    windowText.textContent = `Last 7 days by send time: ${stats.since.slice(0, 10)} to ${stats.until.slice(0, 10)}`;
    windowText.title = `${when(stats.since)} to ${when(stats.until)}`;
  } catch (error) {
    fill("gauges", failure(error));
  }
}

function renderGauge(gauge, totals) {
  const rate = totals[`${gauge.key}_rate`];
  const level = totals[`${gauge.key}_level`];
  const bar = h("div", { class: "fill" });
  bar.style.width = `${Math.min(100, (rate / gauge.scale) * 100)}%`;
  const marks = gauge.thresholds.map((threshold) => {
    const mark = h("div", { class: "mark" }, h("span", {}, percent(threshold, threshold < 0.01 ? 1 : 0)));
    mark.style.left = `${(threshold / gauge.scale) * 100}%`;
    return mark;
  });
  return h("div", { class: "gauge", id: `gauge-${gauge.key}`, "data-level": level, "data-rate": rate },
    h("h3", {}, gauge.title),
    h("div", { class: "value" }, percent(rate)),
    h("div", { class: "meter", role: "meter", "aria-label": gauge.title, "aria-valuemin": 0,
               "aria-valuemax": gauge.scale, "aria-valuenow": rate,
               "aria-valuetext": `${percent(rate)}, ${LEVELS[level]}` }, bar, marks),
    h("div", { class: "level" }, LEVELS[level]),
    h("p", { class: "detail" }, gauge.detail(totals)));
}

// -- daily charts (uPlot) ------------------------------------------------------------------------

const charts = [];

async function loadCharts() {
  try {
    const since = isoDaysAgo(29);
    const stats = await api(`/api/stats?group_by=day&since=${encodeURIComponent(since)}`);
    const byDay = new Map(stats.groups.map((g) => [g.key, g]));
    const days = [];
    for (let t = Date.parse(since) / 1000; t < Date.parse(stats.until) / 1000; t += DAY) {
      days.push(new Date(t * 1000).toISOString().slice(0, 10));
    }
    const row = (key) => days.map((day) => (byDay.get(day) || {})[key] || 0);
    const xs = days.map((day) => Date.parse(`${day}T00:00:00Z`) / 1000);
    const volumes = [xs, row("sent"), row("delivered"), row("hard_bounces"), row("complaints")];
    const rates = [xs, row("bounce_rate").map((r) => r * 100), row("complaint_rate").map((r) => r * 100)];
    for (const chart of charts.splice(0)) chart.destroy();
    const withData = stats.groups.length;
    drawChart("volume-chart", volumes, withData, [
      { label: "Sent", stroke: "#0b57d0", width: 2 },
      { label: "Delivered", stroke: "#1a7f37", width: 2 },
      { label: "Hard bounces", stroke: "#cf222e", width: 2 },
      { label: "Complaints", stroke: "#8250df", width: 2 },
    ], [{ scale: "y" }]);
    drawChart("rates-chart", rates, withData, [
      { label: "Bounce rate %", stroke: "#cf222e", width: 2, scale: "%", value: (u, v) => v == null ? "–" : `${v.toFixed(2)}%` },
      { label: "Complaint rate %", stroke: "#8250df", width: 2, scale: "%", value: (u, v) => v == null ? "–" : `${v.toFixed(3)}%` },
    ], [{ scale: "%", values: (u, ticks) => ticks.map((t) => `${t}%`) }]);
    fill("volume-table", table(["Day", "Sent", "Delivered", "Hard bounces", "Complaints", "Bounce rate", "Complaint rate"],
      stats.groups.map((g) => h("tr", {}, h("td", {}, g.key), h("td", { class: "num" }, g.sent),
        h("td", { class: "num" }, g.delivered), h("td", { class: "num" }, g.hard_bounces),
        h("td", { class: "num" }, g.complaints), h("td", { class: "num" }, percent(g.bounce_rate)),
        h("td", { class: "num" }, percent(g.complaint_rate, 3)))), "Nothing sent in the last 30 days."));
  } catch (error) {
    fill("volume-chart", failure(error));
    fill("rates-chart");
  }
}

function drawChart(id, data, daysWithData, series, yAxes) {
  const target = fill(id);
  target.dataset.days = String(daysWithData);
  if (typeof uPlot === "undefined") {
    target.append(h("p", { class: "error" }, "The chart library did not load."));
    return;
  }
  const options = {
    width: Math.max(280, target.clientWidth),
    height: 240,
    scales: { x: { time: true } },
    series: [{}, ...series],
    axes: [{}, ...yAxes],
    legend: { live: true },
  };
  charts.push(new uPlot(options, data, target));
}

window.addEventListener("resize", () => {
  for (const chart of charts) chart.setSize({ width: Math.max(280, chart.root.parentElement.clientWidth), height: 240 });
});

// -- recent bounces and complaints ---------------------------------------------------------------

async function loadRecent() {
  try {
    const [bounced, complained] = await Promise.all([
      api("/api/messages?status=bounced&limit=10"),
      api("/api/messages?status=complained&limit=10"),
    ]);
    const messages = [...bounced.messages, ...complained.messages]
      .sort((a, b) => (b.sent_at || "").localeCompare(a.sent_at || ""))
      .slice(0, 15);
    fill("recent", table(["Sent", "Status", "Subject", "Message"], messages.map((m) => h("tr", {},
      h("td", {}, when(m.sent_at)), h("td", {}, badge(m.status)), h("td", {}, m.subject || "–"),
      h("td", {}, messageLink(m.message_id)))), "No bounce or complaint: good."));
  } catch (error) {
    fill("recent", failure(error));
  }
}

// -- search and the timeline of one message ------------------------------------------------------

async function search(query) {
  query = query.trim();
  if (!query) return;
  document.getElementById("search").value = query;
  const kind = query.includes("@") ? "address" : "message";
  if (location.hash !== `#${kind}=${encodeURIComponent(query)}`) {
    history.replaceState(null, "", `#${kind}=${encodeURIComponent(query)}`);
  }
  fill("result", h("p", { class: "loading" }, "Searching…"));
  try {
    if (kind === "address") showRecipient(await api(`/api/recipients/${encodeURIComponent(query)}`));
    else showMessage(await api(`/api/messages/${encodeURIComponent(query)}`));
  } catch (error) {
    fill("result", error.status === 404
      ? h("p", { class: "error", role: "alert" }, `No message with id ${query}.`)
      : failure(error));
  }
  document.getElementById("search-panel").scrollIntoView({ block: "start" });
}

// A message with thousands of recipients or events comes in parts; "Show more" asks for the next one.
function showMessage(message) {
  const total = Object.values(message.recipient_counts).reduce((sum, n) => sum + n, 0);
  const recipients = message.recipients.map((r) => h("tr", {},
    h("td", {}, h("span", { class: "mono" }, r.address)), h("td", {}, badge(r.status)),
    h("td", {}, r.explanation)));
  const events = message.events.map((e) => h("li", { "data-kind": e.kind },
    h("div", { class: "when" }, when(e.timestamp)),
    h("div", { class: "what" }, e.kind, e.recipient ? ` – ${e.recipient}` : ""),
    h("div", { class: "more" }, describe(e), ` Received ${when(e.received_at)} by ${e.source}.`)));
  const more = (cursor, name, label) => cursor ? h("button", { type: "button", class: "secondary", id: `more-${name}`,
    onclick: () => moreOfMessage(message, name, cursor) }, label) : "";
  fill("result",
    h("div", { class: "message-head", id: "message-view", "data-message": message.message_id },
      h("h3", {}, message.subject || "(no subject)", " ", badge(message.status)),
      h("dl", {},
        h("dt", {}, "Message"), h("dd", { class: "mono" }, message.message_id),
        h("dt", {}, "From"), h("dd", {}, message.source || "–"),
        h("dt", {}, "Sent"), h("dd", {}, when(message.sent_at)),
        h("dt", {}, "Configuration set"), h("dd", {}, message.configuration_set || "–"))),
    h("h3", {}, message.recipients.length < total
      ? `Recipients, and why (${message.recipients.length} of ${total} shown)` : "Recipients, and why"),
    h("div", { class: "table-wrap" }, table(["Address", "Status", "Why"], recipients, "No recipient.")),
    more(message.next_recipients_cursor, "recipients", "Show more recipients"),
    h("h3", {}, `Timeline (${message.events.length}${message.next_events_cursor ? "+" : ""} events)`),
    h("ol", { class: "timeline", id: "timeline" }, events),
    more(message.next_events_cursor, "events", "Show more events"));
}

async function moreOfMessage(message, name, cursor) {
  try {
    const part = await api(`/api/messages/${encodeURIComponent(message.message_id)}?${name}_cursor=${encodeURIComponent(cursor)}`);
    showMessage({ ...message, [name]: message[name].concat(part[name]), [`next_${name}_cursor`]: part[`next_${name}_cursor`] });
  } catch (error) {
    fill("result", failure(error));
  }
}

function describe(event) {
  const d = event.details || {};
  if (event.kind === "Bounce") {
    return [`${d.bounce_type || ""}/${d.bounce_subtype || ""}`,
      d.status, d.diagnostic_code].filter(Boolean).join(" · ") + ".";
  }
  if (event.kind === "Complaint") return `Feedback: ${d.feedback_type || "none given"}.`;
  if (event.kind === "Delivery") return d.smtp_response ? `${d.smtp_response}.` : "Accepted by the receiving server.";
  if (event.kind === "DeliveryDelay") return `${d.delay_type || "Delayed"}.`;
  if (event.kind === "Click") return d.link ? `Clicked ${d.link}.` : "Clicked.";
  return "";
}

// The reason, with the note given when it was suppressed by hand (as the command line shows it).
function reasonText(s) {
  const note = s.reason === "manual" && s.event && s.event.reason;
  return note ? `${s.reason}: ${note}` : s.reason;
}

function showRecipient(view) {
  const s = view.suppression;
  fill("result",
    h("h3", {}, view.address, " ", view.suppressed ? h("span", { class: "badge bounced" }, "suppressed") : ""),
    h("p", { id: "recipient-suppression" }, view.suppressed
      ? `Suppressed (${reasonText(s)}) since ${when(s.since)}${s.expires_at ? `, until ${when(s.expires_at)}` : ""}.`
      : "Not suppressed."),
    h("div", { class: "table-wrap" }, table(["Sent", "Status", "Subject", "Message"],
      view.messages.map((m) => h("tr", {}, h("td", {}, when(m.sent_at)), h("td", {}, badge(m.status)),
        h("td", {}, m.subject || "–"), h("td", {}, messageLink(m.message_id)))),
      "Nothing was ever sent to this address.")),
    view.next_cursor ? h("button", { type: "button", class: "secondary", id: "more-messages",
      onclick: () => moreOfRecipient(view) }, "Show older messages") : "");
}

async function moreOfRecipient(view) {
  try {
    const page = await api(`/api/recipients/${encodeURIComponent(view.address)}?cursor=${encodeURIComponent(view.next_cursor)}`);
    showRecipient({ ...view, messages: view.messages.concat(page.messages), next_cursor: page.next_cursor });
  } catch (error) {
    fill("result", failure(error));
  }
}

// -- suppressions --------------------------------------------------------------------------------

// The list can hold a million addresses: it is read a page at a time, filtered by the server.
const PAGE = 100;
let suppressed = [];
let nextSuppressions = null; // the URL of the next page (the Link header), null at the end
let suppressionsFilter = "";
let filterTimer = null;
let suppressionsAsked = 0; // only the answer to the latest request is drawn

async function loadSuppressions() {
  const filter = document.getElementById("suppressions-filter").value.trim().toLowerCase();
  // A refresh keeps as many rows as were shown (up to the API's 1,000), so the list does not shrink.
  const rows = filter === suppressionsFilter ? Math.min(1000, Math.max(PAGE, suppressed.length)) : PAGE;
  const query = new URLSearchParams({ limit: String(rows) });
  if (filter) query.set("contains", filter);
  const asked = ++suppressionsAsked;
  try {
    const page = await apiPage(`/api/suppressions?${query}`);
    if (asked !== suppressionsAsked) return;
    suppressionsFilter = filter;
    suppressed = page.body;
    nextSuppressions = page.next;
    drawSuppressions();
  } catch (error) {
    fill("suppressions", failure(error));
  }
}

async function moreSuppressions() {
  if (!nextSuppressions) return;
  const asked = ++suppressionsAsked;
  try {
    const page = await apiPage(nextSuppressions);
    if (asked !== suppressionsAsked) return;
    suppressed = suppressed.concat(page.body);
    nextSuppressions = page.next;
    drawSuppressions();
  } catch (error) {
    fill("suppressions", failure(error));
  }
}

function filterSuppressions() {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(loadSuppressions, 200); // one request when typing stops, not one per key
}

function drawSuppressions() {
  const count = `${suppressed.length}${nextSuppressions ? "+" : ""}`;
  fill("suppressions",
    h("p", { class: "hint", id: "suppressions-count" },
      `${count} address${suppressed.length === 1 && !nextSuppressions ? "" : "es"}${suppressionsFilter ? " match" : ""}.`),
    table(["Address", "Reason", "Since", "Until", ""], suppressed.map((s) => h("tr", { "data-address": s.address },
      h("td", {}, h("span", { class: "mono" }, s.address)), h("td", {}, reasonText(s)), h("td", {}, when(s.since)),
      h("td", {}, s.expires_at ? when(s.expires_at) : "–"),
      h("td", {}, h("button", { type: "button", class: "secondary", "aria-label": `Lift the suppression of ${s.address}`,
        onclick: () => lift(s.address) }, "Lift")))),
    suppressionsFilter ? "No suppressed address matches." : "No address is suppressed."),
    nextSuppressions ? h("button", { type: "button", class: "secondary", id: "suppressions-more",
      onclick: moreSuppressions }, "Show more") : "");
}

async function lift(address) {
  const status = document.getElementById("suppressions-status");
  try {
    await api(`/api/suppressions/${encodeURIComponent(address)}`, { method: "DELETE" });
    status.textContent = `Lifted the suppression of ${address}.`;
  } catch (error) {
    status.textContent = `Could not lift ${address}: ${error.message}`;
  }
  await loadSuppressions();
}

async function suppress(event) {
  event.preventDefault();
  const address = document.getElementById("suppress-address");
  const reason = document.getElementById("suppress-reason");
  const status = document.getElementById("suppressions-status");
  try {
    const body = reason.value.trim() ? JSON.stringify({ reason: reason.value.trim() }) : undefined;
    await api(`/api/suppressions/${encodeURIComponent(address.value.trim())}`,
      { method: "PUT", body, headers: body ? { "Content-Type": "application/json" } : {} });
    status.textContent = `Suppressed ${address.value.trim()}.`;
    address.value = "";
    reason.value = "";
  } catch (error) {
    status.textContent = `Could not suppress: ${error.message}`;
  }
  await loadSuppressions();
}

// -- quarantine and webhooks ---------------------------------------------------------------------

// The list carries a preview of each body; the whole body is fetched when someone opens it.
function quarantinedBody(q) {
  const pre = h("pre", { class: "mono" }, q.preview + (q.truncated ? " …" : ""));
  let loaded = false;
  return h("details", {
    ontoggle: async (event) => {
      if (loaded || !event.target.open) return;
      loaded = true;
      try {
        const item = await api(`/api/quarantine/${q.id}`);
        pre.textContent = item.body_encoding === "base64" ? `(not UTF-8 text; base64) ${item.body}` : item.body;
      } catch (error) {
        loaded = false;
        pre.textContent = `Could not load the record: ${error.message}`;
      }
    },
  }, h("summary", {}, `${q.size.toLocaleString()} bytes`), pre);
}

async function loadQuarantine() {
  try {
    const items = await api("/api/quarantine?limit=50");
    fill("quarantine", table(["Received", "Source", "Reason", "Record"], items.map((q) => h("tr", {},
      h("td", {}, when(q.received_at)), h("td", {}, q.source), h("td", {}, q.reason),
      h("td", {}, quarantinedBody(q)))), "Nothing in quarantine."));
  } catch (error) {
    fill("quarantine", failure(error));
  }
}

async function loadWebhooks() {
  try {
    const hooks = await api("/api/webhooks");
    if (!hooks.length) {
      fill("webhooks", h("p", { class: "hint" }, "None configured (MAILFATE_WEBHOOK_URL)."));
      return;
    }
    fill("webhooks", hooks.map((w) => h("div", { class: "webhook" },
      h("p", {}, h("span", { class: "mono" }, w.url)),
      h("p", { class: "hint" }, `${w.delivered} delivered, ${w.pending} waiting, ${w.failed} given up` +
        (w.last_delivered_at ? `; last delivery ${when(w.last_delivered_at)}` : "")),
      h("div", { class: "table-wrap" }, table(["Change", "Address", "State", "Attempts", "Last error"],
        w.failures.map((f) => h("tr", {}, h("td", { class: "num" }, f.seq), h("td", {}, f.address),
          h("td", {}, badge(f.state === "failed" ? "failed" : "pending")), h("td", { class: "num" }, f.attempts),
          h("td", {}, f.last_error || ""))), "No failed delivery.")))));
  } catch (error) {
    fill("webhooks", failure(error));
  }
}

// -- start ---------------------------------------------------------------------------------------

async function refresh() {
  await Promise.allSettled([loadGauges(), loadCharts(), loadRecent(), loadSuppressions(), loadQuarantine(),
    loadWebhooks()]);
  document.body.dataset.loaded = "true";
}

function fromHash() {
  const match = location.hash.match(/^#(message|address)=(.+)$/);
  if (match) search(decodeURIComponent(match[2]));
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    search(document.getElementById("search").value);
  });
  document.getElementById("suppress-form").addEventListener("submit", suppress);
  document.getElementById("suppressions-filter").addEventListener("input", filterSuppressions);
  document.getElementById("refresh").addEventListener("click", refresh);
  window.addEventListener("hashchange", fromHash);
  refresh().then(fromHash);
});
