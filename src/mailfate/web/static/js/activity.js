// The activity view: every recipient of every message, newest first, narrowed by filters that live in
// the URL (so Back, Forward and a shared link show the same list); one message with its timeline, or
// one address, opened above the list; and a CSV of exactly the filtered list.
import { api, download } from "./api.js";
import { address, fateBadges, fill, h, number, table, time, troubleType, when } from "./dom.js";
import { addressLink, messageLink } from "./links.js";
import { showMessage } from "./message.js";
import { addPanel } from "./panels.js";
import * as route from "./route.js";
import { reasonText } from "./suppressions.js";

const PAGE = 50;
// The filters of GET /api/activity, each with the URL parameter that holds it. "days" is the page's
// own: a time range relative to now, sent as `since` (a shared link means "the last 7 days" then too).
const TEXT_FILTERS = [
  ["q", "Search", "id, address, domain or subject words"],
  ["recipient", "Recipient", "jane@example.com"],
  ["domain", "Recipient domain", "example.com"],
  ["sender", "Sender", "news@example.org"],
  ["configuration_set", "Configuration set", "marketing"],
  ["tag", "Tag", "campaign:spring"],
];
const STATUSES = [
  ["", "any status"], ["delivered", "delivered"], ["auto_reply", "auto-reply"], ["bounced", "bounced (hard)"],
  ["soft_bounced", "soft bounced"], ["complained", "complained"], ["bounced,complained", "bounced or complained"],
  ["delayed", "delayed"], ["sent", "sent, nothing heard"], ["rejected", "rejected by SES"],
  ["failed", "template failed"],
];
const RANGES = [["", "any time"], ["1", "last 24 hours"], ["7", "last 7 days"], ["30", "last 30 days"],
  ["90", "last 90 days"]];

let drawn = null; // the URL parameters drawn, so a route change that keeps them does not reload
let listed = null; // the filters of the list on screen
let rows = [];
let next = null;
let asked = 0; // only the answer to the latest request is drawn

addPanel({
  id: "activity",
  view: "activity",
  title: "Activity",
  hint: "Every recipient of every message, newest first. Filters are kept in the address bar: share it.",
  wide: true,
  build(body) {
    // Search, status and time first; the rest folded away on a phone unless one of them is set.
    const [search, ...others] = TEXT_FILTERS.map(([name, text, hint]) => field(name, text, h("input", {
      id: `filter-${name}`, name, type: name === "q" ? "search" : "text", autocomplete: "off", spellcheck: "false",
      placeholder: hint })));
    const form = h("form", { id: "filters", role: "search", "aria-label": "Filter the activity" },
      h("div", { class: "filters" }, search, field("status", "Status", select("filter-status", STATUSES)),
        field("days", "Sent", select("filter-days", RANGES))),
      h("details", { id: "more-filters", open: matchMedia("(min-width: 40rem)").matches },
        h("summary", {}, "More filters"), h("div", { class: "filters" }, others)),
      h("div", { class: "row filter-buttons" },
        h("button", { type: "submit" }, "Apply"),
        h("button", { type: "button", class: "secondary", id: "filters-clear", onclick: clear }, "Clear"),
        h("button", { type: "button", class: "secondary", id: "export-csv", onclick: exportCsv }, "Export CSV")));
    form.addEventListener("submit", apply);
    form.addEventListener("change", (event) => { if (event.target.tagName === "SELECT") apply(event); });
    body.replaceChildren(h("div", { id: "detail", "aria-live": "polite" }), form,
      h("p", { id: "activity-status", class: "status", role: "status" }), h("div", { id: "result" }));
  },
  async load(context) {
    drawn = null;
    listed = null;
    await draw(context.route.params);
  },
  onRoute(current) {
    draw(current.params).catch((error) => {
      document.getElementById("activity-status").textContent = `Could not load: ${error.message}`;
    });
  },
});

function field(name, text, control) {
  return h("div", { class: name === "q" || name === "status" ? "field wide" : "field" }, h("label", { for: control.id }, text), control);
}

function select(id, options) {
  return h("select", { id }, options.map(([value, text]) => h("option", { value }, text)));
}

// The URL's parameters as the API's query: what the list shows, and what the CSV exports.
function query(params) {
  const found = new URLSearchParams();
  for (const [name] of TEXT_FILTERS) if (params.get(name)) found.set(name, params.get(name));
  const status = params.get("status") || "";
  if (status === "auto_reply") found.set("auto_reply", "true");
  else if (status) found.set("status", status);
  if (params.get("auto_reply")) found.set("auto_reply", params.get("auto_reply"));
  const days = Number(params.get("days"));
  if (days > 0) found.set("since", new Date(Date.now() - days * 86400_000).toISOString());
  else if (params.get("since")) found.set("since", params.get("since"));
  if (params.get("until")) found.set("until", params.get("until"));
  return found;
}

// The form shows what the URL says.
function showFilters(params) {
  for (const [name] of TEXT_FILTERS) document.getElementById(`filter-${name}`).value = params.get(name) || "";
  if (TEXT_FILTERS.some(([name]) => name !== "q" && params.get(name))) document.getElementById("more-filters").open = true;
  const status = document.getElementById("filter-status");
  const wanted = params.get("status") || (params.get("auto_reply") === "true" ? "auto_reply" : "");
  if (![...status.options].some((o) => o.value === wanted)) status.append(h("option", { value: wanted }, wanted));
  status.value = wanted;
  document.getElementById("filter-days").value = RANGES.some(([v]) => v === params.get("days")) ? params.get("days") : "";
}

function apply(event) {
  event.preventDefault();
  const patch = { message: null, auto_reply: null, since: null, until: null };
  for (const [name] of TEXT_FILTERS) patch[name] = document.getElementById(`filter-${name}`).value.trim();
  patch.status = document.getElementById("filter-status").value;
  patch.days = document.getElementById("filter-days").value;
  route.change(patch);
}

function clear() {
  route.go("activity");
}

async function exportCsv() {
  const status = document.getElementById("activity-status");
  try {
    await download(`/api/activity.csv?${query(route.current().params)}`, "mailfate-activity.csv");
    status.textContent = "Exporting every row of this list as CSV.";
  } catch (error) {
    status.textContent = `Could not export: ${error.message}`;
  }
}

async function draw(params) {
  const key = params.toString();
  if (key === drawn) return;
  drawn = key;
  showFilters(params);
  document.getElementById("search").value = params.get("message") || params.get("q") || params.get("recipient") || "";
  const filters = query(params).toString();
  await Promise.all([detail(params), filters === listed ? null : list(params, filters)]);
}

async function detail(params) {
  const target = document.getElementById("detail");
  const id = params.get("message");
  if (id) {
    fill(target, h("p", { class: "loading" }, "Loading…"));
    try {
      await showMessage(target, id, () => route.change({ message: null }));
      // Opened from far down the list: bring it into view.
      if (target.getBoundingClientRect().top < 0) target.scrollIntoView({ block: "start" });
    } catch (error) {
      if (error.status !== 404) throw error;
      fill(target, h("p", { class: "error", role: "alert" }, `No message with id ${id}.`));
    }
  } else if (params.get("recipient")) {
    showRecipient(target, await api(`/api/recipients/${encodeURIComponent(params.get("recipient"))}?limit=1`));
  } else {
    fill(target);
  }
}

// An address: whether it may be mailed; its messages are the list below.
function showRecipient(target, view) {
  const s = view.suppression;
  fill(target, h("div", { class: "recipient-head" },
    h("h3", {}, address(view.address), " ", view.suppressed ? h("span", { class: "badge bounced" }, "suppressed") : ""),
    h("p", { id: "recipient-suppression" }, view.suppressed
      ? `Suppressed (${reasonText(s)}) since ${when(s.since)}${s.expires_at ? `, until ${when(s.expires_at)}` : ""}.`
      : "Not suppressed.")));
}

async function list(params, filters) {
  const mine = ++asked;
  const status = document.getElementById("activity-status");
  status.textContent = "Loading…";
  const page = await api(`/api/activity?${filters}&limit=${PAGE}`);
  if (mine !== asked) return;
  listed = filters;
  rows = page.activity;
  next = page.next_cursor;
  drawList();
  // An exact message id searched for: open it (the URL then names it, so the link opens it again).
  const q = (params.get("q") || "").trim();
  if (q && !params.get("message") && rows.some((r) => r.message_id === q)) {
    route.change({ message: q }, { replace: true });
  }
}

async function more() {
  if (!next) return;
  const mine = ++asked;
  const page = await api(`/api/activity?${listed}&limit=${PAGE}&cursor=${encodeURIComponent(next)}`);
  if (mine !== asked) return;
  rows = rows.concat(page.activity);
  next = page.next_cursor;
  drawList();
}

function drawList() {
  document.getElementById("result").dataset.filters = listed; // what the rows answer (tests wait on it)
  document.getElementById("activity-status").textContent = rows.length
    ? `${number(rows.length)}${next ? "+" : ""} recipient${rows.length === 1 && !next ? "" : "s"}, newest first.` : "";
  fill("result", h("div", { class: "table-wrap" }, table(["Sent", "Recipient", "Status", "Type", "Subject", "Message"],
    rows.map((r) => h("tr", { "data-message": r.message_id, "data-address": r.address },
      h("td", { class: "nowrap" }, time(r.sent_at)), h("td", { class: "address-cell" }, addressLink(r.address)),
      h("td", {}, fateBadges(r)), h("td", {}, troubleType(r) || "–"), h("td", { class: "subject" }, r.subject || "–"),
      h("td", {}, messageLink(r.message_id)))),
    listed ? "Nothing matches these filters." : "No message yet.", { class: "activity-list", id: "activity-list" })),
  next ? h("button", { type: "button", class: "secondary", id: "activity-more",
    onclick: () => more().catch((error) => {
      document.getElementById("activity-status").textContent = `Could not load more: ${error.message}`;
    }) }, "Show more") : "");
}
