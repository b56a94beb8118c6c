// The state of the page lives in the URL's fragment (#view=activity&status=bounced&message=...), so a
// link can be shared and Back and Forward walk through what was looked at. The fragment never reaches
// the server.

export const VIEWS = ["overview", "activity", "suppressions", "quarantine", "webhooks", "audit"];
const listeners = [];
let applied = null;

export function current() {
  const params = new URLSearchParams(location.hash.slice(1));
  // Links of earlier versions: #message=ID and #address=ADDRESS.
  if (params.has("address") && !params.has("view")) {
    params.set("recipient", params.get("address"));
    params.delete("address");
  }
  let view = params.get("view");
  if (!VIEWS.includes(view)) view = params.has("message") || params.has("recipient") ? "activity" : "overview";
  params.delete("view");
  return { view, params };
}

function hashOf(view, params) {
  const query = new URLSearchParams();
  if (view !== "overview") query.set("view", view);
  for (const [name, value] of params) if (value !== "" && value !== null) query.set(name, value);
  const text = query.toString();
  return text ? `#${text}` : location.pathname;
}

// Go somewhere: a new entry in the history (Back returns here), or `replace` the current one.
export function go(view, params = new URLSearchParams(), { replace = false } = {}) {
  const target = hashOf(view, params);
  if (target === (location.hash || location.pathname)) return notify();
  if (replace) history.replaceState(null, "", target);
  else history.pushState(null, "", target);
  notify();
}

// Change some parameters of the current view; null or "" removes one.
export function change(patch, options = {}) {
  const { view, params } = current();
  for (const [name, value] of Object.entries(patch)) {
    if (name === "view") continue;
    if (value === null || value === undefined || value === "") params.delete(name);
    else params.set(name, value);
  }
  go(patch.view || view, params, options);
}

export function onRoute(listener) { listeners.push(listener); }

export function notify() {
  const hash = location.hash;
  if (hash === applied) return;
  applied = hash;
  const route = current();
  for (const listener of listeners) listener(route);
}

window.addEventListener("popstate", () => notify());
window.addEventListener("hashchange", () => notify());
