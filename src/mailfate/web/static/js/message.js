// One message: who it went to and what became of each, and the timeline of its events.
import { api } from "./api.js";
import { address, counted, fateBadges, fill, h, number, table, time, troubleType, when } from "./dom.js";

// Each kind of event has its colour in the timeline (dashboard.css), said by the legend too.
const KINDS = {
  Send: "accepted by SES", Delivery: "delivered", Open: "opened", Click: "clicked", DeliveryDelay: "delayed",
  Bounce: "bounced", Complaint: "complaint", Reject: "rejected by SES", RenderingFailure: "template failed",
  Subscription: "subscription changed",
};

export async function showMessage(target, id, onClose) {
  const message = await api(`/api/messages/${encodeURIComponent(id)}`);
  render(target, message, onClose);
  return message;
}

function render(target, message, onClose) {
  const total = Object.values(message.recipient_counts).reduce((sum, n) => sum + n, 0);
  const recipients = message.recipients.map((r) => h("tr", { "data-address": r.address },
    h("td", {}, address(r.address)), h("td", {}, fateBadges(r)),
    h("td", {}, troubleType(r) || "–"), h("td", { class: "why" }, r.explanation)));
  const kinds = [...new Set(message.events.map((e) => e.kind))];
  const events = message.events.map((e) => h("li", { "data-kind": e.kind },
    h("div", { class: "when" }, time(e.timestamp)),
    h("div", { class: "what" }, e.kind, e.recipient ? [" ", address(e.recipient)] : ""),
    h("div", { class: "more" }, describe(e), ` Received ${when(e.received_at)} by ${e.source}.`)));
  const more = (cursor, name, text) => cursor ? h("button", { type: "button", class: "secondary", id: `more-${name}`,
    onclick: () => moreOf(target, message, name, cursor, onClose) }, text) : "";
  fill(target,
    h("div", { class: "message-head", id: "message-view", "data-message": message.message_id },
      h("div", { class: "title-row" },
        h("h3", {}, message.subject || "(no subject)"),
        onClose ? h("button", { type: "button", class: "secondary", id: "message-close", onclick: onClose },
          "Close") : ""),
      h("dl", {},
        h("dt", {}, "Message"), h("dd", { class: "mono" }, message.message_id),
        h("dt", {}, "Status"), h("dd", {}, fateBadges({ status: message.status })),
        h("dt", {}, "From"), h("dd", {}, message.source ? address(message.source) : "–"),
        h("dt", {}, "Sent"), h("dd", {}, time(message.sent_at)),
        h("dt", {}, "Configuration set"), h("dd", {}, message.configuration_set || "–"))),
    h("h3", {}, message.recipients.length < total
      ? `Recipients, and why (${message.recipients.length} of ${total} shown)` : "Recipients, and why"),
    h("div", { class: "table-wrap" }, table(["Address", "Status", "Type", "Why"], recipients, "No recipient.",
      { class: "recipients" })),
    more(message.next_recipients_cursor, "recipients", "Show more recipients"),
    h("h3", {}, `Timeline (${message.next_events_cursor ? `${number(message.events.length)}+ events`
      : counted(message.events.length, "event")})`),
    h("ul", { class: "kinds", id: "timeline-legend", "aria-label": "Colours of the timeline" },
      kinds.map((kind) => h("li", { "data-kind": kind }, `${kind}: ${KINDS[kind] || kind}`))),
    h("ol", { class: "timeline", id: "timeline" }, events),
    more(message.next_events_cursor, "events", "Show more events"));
}

async function moreOf(target, message, name, cursor, onClose) {
  const part = await api(`/api/messages/${encodeURIComponent(message.message_id)}?${name}_cursor=${encodeURIComponent(cursor)}`);
  render(target, { ...message, [name]: message[name].concat(part[name]),
    [`next_${name}_cursor`]: part[`next_${name}_cursor`] }, onClose);
}

function describe(event) {
  const d = event.details || {};
  if (event.kind === "Bounce") {
    return [`${d.bounce_type || ""}/${d.bounce_subtype || ""}`, d.status, d.diagnostic_code].filter(Boolean).join(" · ") + ".";
  }
  if (event.kind === "Complaint") return `Feedback: ${d.feedback_type || "none given"}.`;
  if (event.kind === "Delivery") return d.smtp_response ? `${d.smtp_response}.` : "Accepted by the receiving server.";
  if (event.kind === "DeliveryDelay") return `${d.delay_type || "Delayed"}.`;
  if (event.kind === "Click") return d.link ? `Clicked ${d.link}.` : "Clicked.";
  return "";
}
