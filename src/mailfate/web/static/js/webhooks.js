// Outbound webhooks: how far each receiver is, and the changes that failed or wait for a retry. A change
// given up on can be delivered again: one, or every one of a webhook. A webhook is named by its position
// in the settings; its URL is shown as its host only (the rest may be its secret).
import { api, send } from "./api.js";
import { confirmAction } from "./confirm.js";
import { address, badge, counted, fill, h, number, table, time } from "./dom.js";
import { addPanel } from "./panels.js";

const panel = {
  id: "webhooks",
  view: "webhooks",
  title: "Outbound webhooks",
  wide: true,
  build(body) {
    body.before(h("p", { id: "webhooks-status", class: "status", role: "status" }));
  },
  async load() {
    const hooks = await api("/api/webhooks");
    if (!hooks.length) {
      fill("webhooks", h("p", { class: "hint" }, "None configured (MAILFATE_WEBHOOK_URL)."));
      return;
    }
    fill("webhooks", hooks.map((w) => h("div", { class: "webhook", "data-webhook": w.webhook },
      h("p", {}, `Webhook ${w.webhook}: `, h("span", { class: "mono" }, w.url)),
      h("p", { class: "hint" }, `${number(w.delivered)} delivered, ${number(w.pending)} waiting, ${number(w.failed)} given up`,
        w.last_delivered_at ? "; last delivery " : "", w.last_delivered_at ? time(w.last_delivered_at) : ""),
      w.failed ? h("div", { class: "row toolbar admin-only" }, h("button", { type: "button", class: "secondary redeliver-all",
        onclick: () => redeliver(w, null) }, `Redeliver all given up (${number(w.failed)})`)) : "",
      h("div", { class: "table-wrap" }, table(
        ["Change", "Address", "State", "Attempts", "Next attempt", "Last error", { text: "", class: "actions" }],
        w.failures.map((f) => h("tr", { "data-seq": f.seq }, h("td", { class: "num" }, f.seq),
          h("td", {}, address(f.address)),
          h("td", {}, badge(f.state === "failed" ? "failed" : "pending", f.state === "failed" ? "given up" : "retrying")),
          h("td", { class: "num" }, f.attempts),
          h("td", { class: "nowrap" }, f.next_attempt_at ? time(f.next_attempt_at) : "none: given up"),
          h("td", { class: "reason" }, f.last_error || ""),
          h("td", { class: "actions" }, f.state === "failed" ? h("button", { type: "button", class: "secondary admin-only",
            "aria-label": `Redeliver change ${f.seq}`, onclick: () => redeliver(w, [f.seq]) }, "Redeliver") : ""))),
        "No failed delivery.")))));
  },
};
addPanel(panel);

async function redeliver(hook, seqs) {
  const all = seqs === null;
  const yes = await confirmAction({
    title: all ? `Redeliver ${counted(hook.failed, "change")}?` : `Redeliver change ${seqs[0]}?`,
    text: `${all ? "Every change given up on for" : "This change goes again to"} webhook ${hook.webhook} (${hook.url})`
      + `${all ? " goes again" : ""}, now, with a new retry window.`,
    yes: all ? "Redeliver all" : "Redeliver",
  });
  if (!yes) return;
  const status = document.getElementById("webhooks-status");
  try {
    const target = { webhook: hook.webhook };
    const result = await send("POST", "/api/webhooks/redeliver", all ? target : { ...target, seqs });
    status.textContent = result.redelivered.length
      ? `Due again: change ${result.redelivered.join(", ")}.` : "Nothing was given up on any more.";
  } catch (error) {
    status.textContent = `Could not redeliver: ${error.message}`;
  }
  try {
    await panel.load();
  } catch (error) {
    status.textContent += ` (the list could not be reloaded: ${error.message})`;
  }
}
