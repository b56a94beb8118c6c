// mailfate dashboard: reads the JSON API of the server that served it. No framework, no build step.
// This module lays the panels out in their views, follows the URL, and refreshes: by hand, every
// minute while the tab is visible, and when the view changes. One banner says when the API is down.
import { allowTokenPrompt, api } from "./api.js";
import { fill, h } from "./dom.js";
import { panels } from "./panels.js";
import * as route from "./route.js";

// The panels, in the order they appear in their views.
import "./welcome.js";
import "./reputation.js";
import "./charts.js";
import "./recent.js";
import "./diagnostics.js";
import "./activity.js";
import "./suppressions.js";
import "./quarantine.js";
import "./webhooks.js";
import "./audit.js";

// Automatic refresh while the tab is visible: every minute, or as this browser's localStorage says
// ("mailfate-refresh-seconds"); sooner while the API does not answer.
const EVERY = 1000 * (Number(localStorage.getItem("mailfate-refresh-seconds")) || 60);
const RETRY = Math.min(EVERY, 20_000);
let shown = null; // the view on screen
let loading = null; // the refresh under way, if any
let lastGood = null; // when every panel of a view last loaded
let failing = null; // "offline" or "token" while the banner is up
let timer = null;

function layout() {
  for (const panel of panels) {
    const container = document.getElementById(`view-${panel.view}`);
    const body = h("div", { id: panel.id, class: "panel-body" });
    const section = h("section", { class: `panel${panel.wide ? " wide" : ""}`, id: `${panel.id}-panel`,
      "aria-labelledby": `${panel.id}-title` },
    h("h2", { id: `${panel.id}-title` }, panel.title),
    panel.hint ? h("p", { class: "hint" }, panel.hint) : "",
    body);
    container.append(section);
    if (panel.build) panel.build(body, section);
  }
}

function showView(view) {
  for (const container of document.querySelectorAll(".view")) container.hidden = container.dataset.view !== view;
  for (const link of document.querySelectorAll("#views a")) {
    if (link.dataset.view === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `mailfate · ${document.querySelector(`#views a[data-view="${view}"]`).textContent}`;
}

async function load(auto = false) {
  const current = route.current();
  const context = { auto, route: current };
  document.body.dataset.loaded = "false";
  const mine = panels.filter((panel) => panel.view === current.view);
  learnScope();
  const results = await Promise.allSettled(mine.map((panel) => loadPanel(panel, context)));
  const errors = results.filter((r) => r.status === "rejected").map((r) => r.reason);
  const offline = errors.find((e) => e && e.offline);
  const token = errors.find((e) => e && e.needsToken);
  if (offline) banner("offline", offline);
  else if (token) banner("token", token);
  else banner(null);
  if (!offline && !token) lastGood = new Date();
  showUpdated();
  document.body.dataset.loaded = "true";
  schedule(offline ? RETRY : EVERY);
}

// What the token may do: a read token sees no button that would only be refused (the server refuses
// them anyway). Anything marked .admin-only is hidden while body[data-scope="read"].
async function learnScope() {
  try {
    const who = await api("/api/whoami");
    document.body.dataset.scope = who.scope;
    const element = document.getElementById("whoami");
    element.hidden = who.name === "anonymous";
    element.textContent = `${who.name} (${who.scope === "read" ? "read only" : "admin"})`;
  } catch (error) {
    // Said by the panels and the banner; the buttons stay as they are until the token is known.
  }
}

async function loadPanel(panel, context) {
  const body = document.getElementById(panel.id);
  if (!body.dataset.state && !body.childElementCount) fill(body, h("p", { class: "loading" }, "Loading…"));
  try {
    await panel.load(context);
    body.dataset.state = "ok";
  } catch (error) {
    if (error && (error.offline || error.needsToken)) {
      // Said once by the banner. What was shown before stays, marked as old.
      if (body.dataset.state === "ok" || body.dataset.state === "stale") body.dataset.state = "stale";
      else fill(body, h("p", { class: "hint" }, error.offline ? "Not loaded: the server is not answering."
        : "Not loaded: this mailfate asks for an API token."));
    } else {
      fill(body, h("p", { class: "error", role: "alert" }, `Could not load: ${error ? error.message : "error"}`));
    }
    throw error;
  }
}

function banner(kind, error) {
  failing = kind;
  const element = document.getElementById("banner");
  if (!kind) {
    element.hidden = true;
    fill(element);
    return;
  }
  element.hidden = false;
  if (kind === "token") {
    fill(element, h("p", {}, "This mailfate asks for an API token (MAILFATE_API_TOKEN) before it shows anything."),
      h("button", { type: "button", id: "banner-token", onclick: () => { allowTokenPrompt(); refresh(); } },
        "Enter the token"));
  } else {
    const since = lastGood ? ` The page shows what it loaded at ${clock(lastGood)}.` : "";
    fill(element, h("p", {}, `The mailfate server is not answering (${error.message}).${since} `,
      `It is asked again every ${RETRY / 1000} seconds.`),
    h("button", { type: "button", class: "secondary", onclick: () => refresh() }, "Try now"));
  }
}

const clock = (date) => date.toISOString().slice(11, 19) + "Z";

function showUpdated() {
  const element = document.getElementById("updated");
  element.textContent = lastGood ? `Updated ${clock(lastGood)}` : "Not updated yet";
  if (lastGood) element.setAttribute("datetime", lastGood.toISOString());
}

function schedule(delay) {
  clearTimeout(timer);
  timer = setTimeout(() => {
    const auto = document.getElementById("auto").checked;
    const busy = document.querySelector("dialog[open]") || document.visibilityState !== "visible";
    if ((auto || failing === "offline") && !busy) refresh(true);
    else schedule(delay);
  }, delay);
}

export function refresh(auto = false) {
  if (loading) return loading;
  loading = load(auto).finally(() => { loading = null; });
  return loading;
}

function follow(current) {
  if (current.view !== shown) {
    shown = current.view;
    showView(shown);
    // A load of the view left behind may still be under way: the new view's comes after it.
    if (loading) loading.finally(() => refresh());
    else refresh();
    return;
  }
  for (const panel of panels) if (panel.view === shown && panel.onRoute) panel.onRoute(current);
}

function search(event) {
  event.preventDefault();
  const query = document.getElementById("search").value.trim();
  if (!query) return;
  // A whole address looks that address up; anything else is searched (ids, parts of addresses, subjects).
  const params = new URLSearchParams();
  if (/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(query)) params.set("recipient", query);
  else params.set("q", query);
  route.go("activity", params);
}

document.addEventListener("DOMContentLoaded", () => {
  layout();
  document.getElementById("search-form").addEventListener("submit", search);
  document.getElementById("skip").addEventListener("click", (event) => {
    event.preventDefault(); // the fragment holds the page's state: the link only moves the focus
    document.getElementById("search").focus();
  });
  document.getElementById("refresh").addEventListener("click", () => refresh());
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && lastGood && Date.now() - lastGood > EVERY) refresh(true);
  });
  route.onRoute(follow);
  route.notify();
});
