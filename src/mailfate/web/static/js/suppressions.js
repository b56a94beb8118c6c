// The suppression list: a page at a time, filtered by the server; suppress by hand; lift, with a reason.
import { apiPage, send } from "./api.js";
import { fill, h, table, time } from "./dom.js";
import { addressLink } from "./links.js";
import { addPanel } from "./panels.js";

const PAGE = 100;
let suppressed = [];
let next = null; // the URL of the next page (the Link header), null at the end
let shownFilter = "";
let filterTimer = null;
let asked = 0; // only the answer to the latest request is drawn

// The reason, with the note given when it was suppressed by hand (as the command line shows it).
export function reasonText(s) {
  const note = s.reason === "manual" && s.event && s.event.reason;
  return note ? `${s.reason}: ${note}` : s.reason;
}

addPanel({
  id: "suppressions",
  view: "suppressions",
  title: "Suppression list",
  hint: "Addresses mailfate advises not to mail, and why. Sorted by address, numbers in order.",
  wide: true,
  build(body) {
    const form = h("form", { id: "suppress-form", class: "row admin-only" },
      h("label", { class: "visually-hidden", for: "suppress-address" }, "Address to suppress"),
      h("input", { id: "suppress-address", type: "email", required: true, placeholder: "address to suppress" }),
      h("label", { class: "visually-hidden", for: "suppress-reason" }, "Reason"),
      h("input", { id: "suppress-reason", type: "text", placeholder: "reason (optional)" }),
      h("button", { type: "submit" }, "Suppress"));
    form.addEventListener("submit", suppress);
    const filter = h("input", { id: "suppressions-filter", type: "search", autocomplete: "off",
      placeholder: "part of an address" });
    filter.addEventListener("input", () => {
      clearTimeout(filterTimer);
      filterTimer = setTimeout(() => reload().catch(() => {}), 200); // one request when typing stops
    });
    body.before(form, h("p", { id: "suppressions-status", class: "status", role: "status" }),
      h("label", { for: "suppressions-filter" }, "Filter the list"), filter);
  },
  load: reload,
});

async function reload() {
  const filter = document.getElementById("suppressions-filter").value.trim().toLowerCase();
  // A refresh keeps as many rows as were shown (up to the API's 1,000), so the list does not shrink.
  const rows = filter === shownFilter ? Math.min(1000, Math.max(PAGE, suppressed.length)) : PAGE;
  const query = new URLSearchParams({ limit: String(rows) });
  if (filter) query.set("contains", filter);
  const mine = ++asked;
  const page = await apiPage(`/api/suppressions?${query}`);
  if (mine !== asked) return;
  shownFilter = filter;
  suppressed = page.body;
  next = page.next;
  draw();
}

async function more() {
  if (!next) return;
  const mine = ++asked;
  const page = await apiPage(next);
  if (mine !== asked) return;
  suppressed = suppressed.concat(page.body);
  next = page.next;
  draw();
}

function draw() {
  const count = `${suppressed.length}${next ? "+" : ""}`;
  fill("suppressions",
    h("p", { class: "hint", id: "suppressions-count" },
      `${count} address${suppressed.length === 1 && !next ? "" : "es"}${shownFilter ? " match" : ""}.`),
    table(["Address", "Reason", "Since", "Until", { text: "", class: "actions" }],
      suppressed.map((s) => h("tr", { "data-address": s.address },
        h("td", { class: "address-cell" }, addressLink(s.address)), h("td", { class: "reason" }, reasonText(s)),
        h("td", { class: "nowrap" }, time(s.since)), h("td", { class: "nowrap" }, s.expires_at ? time(s.expires_at) : "–"),
        h("td", { class: "actions" }, h("button", { type: "button", class: "secondary admin-only",
          "aria-label": `Lift the suppression of ${s.address}`, onclick: () => confirmLift(s.address) }, "Lift")))),
      shownFilter ? "No suppressed address matches." : "No address is suppressed.", { class: "suppression-list" }),
    next ? h("button", { type: "button", class: "secondary", id: "suppressions-more",
      onclick: () => more().catch(failed) }, "Show more") : "");
}

function failed(error) {
  document.getElementById("suppressions-status").textContent = `Could not load: ${error.message}`;
}

// Lifting means mail goes to the address again: it is confirmed, with a reason that is kept.
function confirmLift(address) {
  const dialog = document.getElementById("lift-dialog");
  const reason = document.getElementById("lift-reason");
  document.getElementById("lift-address").textContent = address;
  document.getElementById("lift-error").textContent = "";
  reason.value = "";
  dialog.returnValue = "";
  dialog.onclose = async () => {
    if (dialog.returnValue !== "lift") return;
    await lift(address, reason.value.trim());
  };
  dialog.showModal();
  reason.focus();
}

async function lift(address, reason) {
  const status = document.getElementById("suppressions-status");
  try {
    await send("DELETE", `/api/suppressions/${encodeURIComponent(address)}`, { reason });
    status.textContent = `Lifted the suppression of ${address}.`;
  } catch (error) {
    status.textContent = `Could not lift ${address}: ${error.message}`;
  }
  await reload().catch(failed);
}

async function suppress(event) {
  event.preventDefault();
  const address = document.getElementById("suppress-address");
  const reason = document.getElementById("suppress-reason");
  const status = document.getElementById("suppressions-status");
  try {
    await send("PUT", `/api/suppressions/${encodeURIComponent(address.value.trim())}`,
      reason.value.trim() ? { reason: reason.value.trim() } : undefined);
    status.textContent = `Suppressed ${address.value.trim()}.`;
    address.value = "";
    reason.value = "";
  } catch (error) {
    status.textContent = `Could not suppress: ${error.message}`;
  }
  await reload().catch(failed);
}
