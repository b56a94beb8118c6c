// The latest bounces and complaints, each with its recipient and the kind of trouble.
import { api } from "./api.js";
import { fill, h, table, time, badge } from "./dom.js";
import { messageLink } from "./links.js";
import { addPanel } from "./panels.js";

addPanel({
  id: "recent",
  view: "overview",
  title: "Recent bounces and complaints",
  wide: true,
  async load() {
    const [bounced, complained] = await Promise.all([
      api("/api/messages?status=bounced&limit=10"),
      api("/api/messages?status=complained&limit=10"),
    ]);
    const messages = [...bounced.messages, ...complained.messages]
      .sort((a, b) => (b.sent_at || "").localeCompare(a.sent_at || ""));
    fill("recent", h("div", { class: "table-wrap" }, table(["Sent", "Status", "Subject", "Message"],
      messages.map((m) => h("tr", {}, h("td", { class: "nowrap" }, time(m.sent_at)), h("td", {}, badge(m.status)),
        h("td", {}, m.subject || "–"), h("td", {}, messageLink(m.message_id)))), "No bounce or complaint: good.")));
  },
});
