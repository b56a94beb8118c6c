// The quarantine: records that could not be understood, kept whole with the reason.
import { api } from "./api.js";
import { fill, h, number, table, time } from "./dom.js";
import { addPanel } from "./panels.js";

addPanel({
  id: "quarantine",
  view: "quarantine",
  title: "Quarantine",
  hint: "Records that could not be understood, kept whole with the reason.",
  wide: true,
  async load() {
    const items = await api("/api/quarantine?limit=50");
    fill("quarantine", h("div", { class: "table-wrap" }, table(["Received", "Source", "Reason", "Record"],
      items.map((q) => h("tr", { "data-id": q.id }, h("td", { class: "nowrap" }, time(q.received_at)),
        h("td", {}, q.source), h("td", { class: "reason" }, q.reason), h("td", { class: "record" }, body(q)))),
      "Nothing in quarantine.")));
  },
});

// The list carries a preview of each body; the whole body is fetched when someone opens it.
function body(q) {
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
  }, h("summary", {}, `${number(q.size)} bytes`), pre);
}
