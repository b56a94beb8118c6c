// The activity view: one message, or one address, looked up from the search box or a link.
import { api } from "./api.js";
import { address, badge, fill, h, table, time, when } from "./dom.js";
import { messageLink } from "./links.js";
import { showMessage } from "./message.js";
import { addPanel } from "./panels.js";
import * as route from "./route.js";
import { reasonText } from "./suppressions.js";

let drawn = null; // the parameters drawn, so a route change that keeps them does not reload

addPanel({
  id: "activity",
  view: "activity",
  title: "Activity",
  wide: true,
  build(body) {
    body.replaceChildren(h("div", { id: "detail", "aria-live": "polite" }), h("div", { id: "result" }));
  },
  async load(context) {
    drawn = null;
    await draw(context.route.params);
  },
  onRoute(current) {
    draw(current.params).catch(() => {});
  },
});

async function draw(params) {
  const key = params.toString();
  if (key === drawn) return;
  drawn = key;
  document.getElementById("search").value = params.get("message") || params.get("recipient") || params.get("q") || "";
  const detail = document.getElementById("detail");
  const id = params.get("message") || params.get("q");
  if (id) {
    fill(detail, h("p", { class: "loading" }, "Loading…"));
    try {
      await showMessage(detail, id, () => route.change({ message: null, q: null }));
      if (!params.get("message")) {
        // The search was an exact id: the URL names the message, so the link opens it again.
        const named = new URLSearchParams(params);
        named.set("message", id);
        drawn = named.toString();
        route.change({ message: id }, { replace: true });
      }
    } catch (error) {
      if (error.status !== 404) throw error;
      fill(detail, h("p", { class: "error", role: "alert" }, `No message with id ${id}.`));
    }
  } else if (params.get("recipient")) {
    fill(detail, h("p", { class: "loading" }, "Loading…"));
    showRecipient(detail, await api(`/api/recipients/${encodeURIComponent(params.get("recipient"))}`));
  } else {
    fill(detail, h("p", { class: "hint" }, "Search for a message id or an address above."));
  }
}

function showRecipient(target, view) {
  const s = view.suppression;
  fill(target,
    h("h3", {}, address(view.address), " ",
      view.suppressed ? h("span", { class: "badge bounced" }, "suppressed") : ""),
    h("p", { id: "recipient-suppression" }, view.suppressed
      ? `Suppressed (${reasonText(s)}) since ${when(s.since)}${s.expires_at ? `, until ${when(s.expires_at)}` : ""}.`
      : "Not suppressed."),
    h("div", { class: "table-wrap" }, table(["Sent", "Status", "Subject", "Message"],
      view.messages.map((m) => h("tr", {}, h("td", { class: "nowrap" }, time(m.sent_at)), h("td", {}, badge(m.status)),
        h("td", {}, m.subject || "–"), h("td", {}, messageLink(m.message_id)))),
      "Nothing was ever sent to this address.")),
    view.next_cursor ? h("button", { type: "button", class: "secondary", id: "more-messages",
      onclick: () => moreOfRecipient(target, view) }, "Show older messages") : "");
}

async function moreOfRecipient(target, view) {
  const page = await api(`/api/recipients/${encodeURIComponent(view.address)}?cursor=${encodeURIComponent(view.next_cursor)}`);
  showRecipient(target, { ...view, messages: view.messages.concat(page.messages), next_cursor: page.next_cursor });
}
