// The audit trail: who did what by hand, when, on what and why; newest first, a page at a time.
import { api } from "./api.js";
import { fill, h, table, time } from "./dom.js";
import { addPanel } from "./panels.js";

const PAGE = 50;
const ACTIONS = ["suppress", "unsuppress", "forget", "quarantine_replay", "quarantine_dismiss",
  "webhook_redeliver", "push_ses", "pull_ses", "setup_aws"];
let entries = [];
let next = null; // the cursor of the next page, null at the end
let asked = 0; // only the answer to the latest request is drawn

addPanel({
  id: "audit",
  view: "audit",
  title: "Audit trail",
  hint: "Every action taken by hand: who (the token's name, or cli: and the user), when, on what, and why.",
  wide: true,
  build(body) {
    const select = h("select", { id: "audit-action" }, h("option", { value: "" }, "every action"),
      ACTIONS.map((a) => h("option", { value: a }, a.replace("_", " "))));
    select.addEventListener("change", () => reload().catch(failed));
    body.before(h("div", { class: "audit-filter" }, h("label", { for: "audit-action" }, "Show"), select),
      h("p", { id: "audit-status", class: "status", role: "status" }));
  },
  load: reload,
});

function query(cursor) {
  const params = new URLSearchParams({ limit: String(PAGE) });
  const action = document.getElementById("audit-action").value;
  if (action) params.set("action", action);
  if (cursor) params.set("cursor", cursor);
  return `/api/audit?${params}`;
}

async function reload() {
  const mine = ++asked;
  const page = await api(query(null));
  if (mine !== asked) return;
  entries = page.entries;
  next = page.next_cursor;
  draw();
}

async function more() {
  if (!next) return;
  const mine = ++asked;
  const page = await api(query(next));
  if (mine !== asked) return;
  entries = entries.concat(page.entries);
  next = page.next_cursor;
  draw();
}

function detail(e) {
  return e.detail ? Object.entries(e.detail).map(([k, v]) => `${k.replaceAll("_", " ")}: ${v}`).join(", ") : "";
}

function draw() {
  fill("audit",
    h("div", { class: "table-wrap" }, table(["When", "Who", "Action", "On", "Why"],
      entries.map((e) => h("tr", { "data-id": e.id, "data-action": e.action },
        h("td", { class: "nowrap" }, time(e.at)), h("td", { class: "actor" }, e.actor),
        h("td", {}, e.action.replace("_", " ")),
        h("td", { class: "address-cell" }, e.target, detail(e) ? h("span", { class: "hint" }, ` (${detail(e)})`) : ""),
        h("td", { class: "reason" }, e.reason))),
      "Nothing has been done by hand yet.", { class: "audit-list" })),
    next ? h("button", { type: "button", class: "secondary", id: "audit-more",
      onclick: () => more().catch(failed) }, "Show more") : "");
}

function failed(error) {
  document.getElementById("audit-status").textContent = `Could not load: ${error.message}`;
}
