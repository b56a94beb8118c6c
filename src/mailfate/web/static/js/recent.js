// The latest bounces and complaints, one row per recipient, each with the kind of trouble; the whole
// list is the activity view, filtered the same way.
import { api } from "./api.js";
import { fateBadges, fill, h, table, time, troubleType } from "./dom.js";
import { addressLink, messageLink } from "./links.js";
import { addPanel } from "./panels.js";

const SHOWN = 20;

addPanel({
  id: "recent",
  view: "overview",
  title: "Recent bounces and complaints",
  wide: true,
  async load() {
    const page = await api(`/api/activity?status=bounced,complained,soft_bounced&limit=${SHOWN}`);
    fill("recent", h("div", { class: "table-wrap" }, table(["Sent", "Recipient", "Status", "Type", "Message"],
      page.activity.map((r) => h("tr", { "data-message": r.message_id },
        h("td", { class: "nowrap" }, time(r.sent_at)), h("td", { class: "address-cell" }, addressLink(r.address)),
        h("td", {}, fateBadges(r)), h("td", {}, troubleType(r) || "–"), h("td", {}, messageLink(r.message_id)))),
      "No bounce or complaint: good.")),
    page.next_cursor ? h("p", {}, h("a", { id: "recent-all", href: "#view=activity&status=bounced%2Ccomplained%2Csoft_bounced" },
      "All bounces and complaints")) : "");
  },
});
