// Outbound webhooks: how far each receiver is, and the changes that failed or wait for a retry.
import { api } from "./api.js";
import { address, badge, fill, h, number, table, time } from "./dom.js";
import { addPanel } from "./panels.js";

addPanel({
  id: "webhooks",
  view: "webhooks",
  title: "Outbound webhooks",
  wide: true,
  async load() {
    const hooks = await api("/api/webhooks");
    if (!hooks.length) {
      fill("webhooks", h("p", { class: "hint" }, "None configured (MAILFATE_WEBHOOK_URL)."));
      return;
    }
    fill("webhooks", hooks.map((w) => h("div", { class: "webhook" },
      h("p", {}, h("span", { class: "mono" }, w.url)),
      h("p", { class: "hint" }, `${number(w.delivered)} delivered, ${number(w.pending)} waiting, ${number(w.failed)} given up`,
        w.last_delivered_at ? "; last delivery " : "", w.last_delivered_at ? time(w.last_delivered_at) : ""),
      h("div", { class: "table-wrap" }, table(["Change", "Address", "State", "Attempts", "Next attempt", "Last error"],
        w.failures.map((f) => h("tr", { "data-seq": f.seq }, h("td", { class: "num" }, f.seq),
          h("td", {}, address(f.address)),
          h("td", {}, badge(f.state === "failed" ? "failed" : "pending", f.state === "failed" ? "given up" : "retrying")),
          h("td", { class: "num" }, f.attempts), h("td", { class: "nowrap" }, f.next_attempt_at ? time(f.next_attempt_at) : "–"),
          h("td", { class: "reason" }, f.last_error || ""))), "No failed delivery.")))));
  },
});
