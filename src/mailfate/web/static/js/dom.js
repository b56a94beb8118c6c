// Small DOM helpers. The DOM is built with createElement and textContent only: nothing from the API is
// ever parsed as HTML.

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false || child === "") continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function fill(target, ...children) {
  const element = typeof target === "string" ? document.getElementById(target) : target;
  element.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false && c !== ""));
  return element;
}

// A table; each heading is a text or {text, class}. An empty list is a sentence instead.
// On a phone each row becomes a card, and each cell is labelled with its column's heading.
export function table(headings, rows, empty, attributes = {}) {
  if (!rows.length) return h("p", { class: "hint empty" }, empty);
  const names = headings.map((heading) => (typeof heading === "string" ? heading : heading.text));
  for (const row of rows) {
    [...row.children].forEach((cell, i) => { if (names[i]) cell.dataset.label = names[i]; });
  }
  return h("table", attributes,
    h("thead", {}, h("tr", {}, headings.map((heading) => typeof heading === "string"
      ? h("th", { scope: "col" }, heading)
      : h("th", { scope: "col", class: heading.class }, heading.text)))),
    h("tbody", {}, rows));
}

export const number = (n) => Number(n || 0).toLocaleString("en-US");
// A count and the noun that agrees with it: "1 complaint", "2 complaints", "1,204 addresses". Every count
// the dashboard writes in words goes through it (the command line has the same, core/wording.py).
export const counted = (n, singular, plural = `${singular}s`) =>
  `${number(n)} ${Number(n || 0) === 1 ? singular : plural}`;
export const percent = (fraction, digits = 2) => `${(fraction * 100).toFixed(digits)}%`;

// Times are shown in UTC, as the API gives them, without milliseconds; never broken across lines.
export function when(stamp) {
  if (!stamp) return "–";
  return stamp.replace("T", " ").replace(/\.\d+/, "").replace(/(Z|[+-]00:?00)$/, "Z");
}

// An address that may break after its @ and its dots, never inside a word.
export function address(text, attributes = {}) {
  const parts = String(text).split(/(?<=[@.])/);
  const element = h("span", { class: "address", ...attributes });
  parts.forEach((part, i) => {
    if (i) element.append(document.createElement("wbr"));
    element.append(part);
  });
  return element;
}

export function time(stamp) {
  return h("time", { class: "when", datetime: stamp || null }, when(stamp));
}

export function label(status) {
  return status.replaceAll("_", " ");
}

export function badge(status, text = label(status)) {
  return h("span", { class: `badge ${status}` }, text);
}

// The status of a recipient, with an auto-reply said as such (it counts as delivered).
export function fateBadges(fate) {
  return h("span", { class: "badges" }, badge(fate.status), fate.auto_reply ? badge("auto_reply", "auto-reply") : "");
}

// What kind of bounce or complaint, in a few words: "Permanent/General", "abuse".
export function troubleType(fate) {
  const parts = [];
  if (fate.bounce) parts.push([fate.bounce.type, fate.bounce.subtype].filter(Boolean).join("/"));
  if (fate.complaint) parts.push(fate.complaint.feedback_type || "complaint");
  return parts.filter(Boolean).join(", ");
}

// A long id on one line: its start (an SES id's time and the first part of its UUID); the whole id is
// the link's title and what it opens.
export function shortId(id, keep = 25) {
  return id.length <= keep + 3 ? id : `${id.slice(0, keep)}…`;
}

export function isoDaysAgo(days) {
  const start = new Date(Date.now() - days * 86400_000);
  start.setUTCHours(0, 0, 0, 0);
  return start.toISOString();
}
