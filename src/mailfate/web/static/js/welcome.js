// Shown only while the database holds no message at all: how to get SES events in.
import { api } from "./api.js";
import { fill, h } from "./dom.js";
import { addPanel } from "./panels.js";

addPanel({
  id: "welcome",
  view: "overview",
  title: "No mail yet",
  wide: true,
  async load() {
    const page = await api("/api/messages?limit=1");
    const section = document.getElementById("welcome-panel");
    section.hidden = page.messages.length > 0;
    document.body.dataset.empty = String(!section.hidden);
    if (section.hidden) return;
    const step = (text, command) => h("li", {}, text, command ? h("pre", { class: "command" }, command) : "");
    fill("welcome",
      h("p", {}, "This mailfate has not received any SES event yet. Any of these fills it:"),
      h("ol", { class: "steps" },
        step("Look around with a generated month of sample data:", "mailfate demo"),
        step("Load SES events you already have (JSON lines, SNS envelopes or SQS messages):",
          "mailfate ingest events.jsonl"),
        step("Let AWS send them: create the SNS topic, the SES event destination and the subscription to this " +
          "server's /sns (check first with mailfate doctor):", "mailfate setup aws"),
        step("Or read them from an SQS queue subscribed to the topic:", "mailfate consume sqs QUEUE_URL")),
      h("p", { class: "hint" }, "The docs folder explains each one: docs/sources/ and docs/cli.md."));
  },
});
