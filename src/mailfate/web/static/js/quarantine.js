// The quarantine: records that could not be understood, kept whole with the reason. Each can be
// replayed (parsed again by this version: what now parses becomes facts and leaves) or dismissed.
import { api, send } from "./api.js";
import { confirmAction } from "./confirm.js";
import { counted, fill, h, number, table, time } from "./dom.js";
import { addPanel } from "./panels.js";

let items = [];

const panel = {
  id: "quarantine",
  view: "quarantine",
  title: "Quarantine",
  hint: "Records that could not be understood, kept whole with the reason. Replay parses one again with "
    + "this version: what now parses becomes facts and leaves the quarantine, the rest stays.",
  wide: true,
  build(body) {
    body.before(h("div", { class: "row toolbar admin-only" },
      h("button", { type: "button", id: "quarantine-replay-all", onclick: replayAll }, "Replay all"),
      h("button", { type: "button", id: "quarantine-dismiss-selected", class: "secondary", disabled: true,
        onclick: dismissSelected }, "Dismiss selected")),
    h("p", { id: "quarantine-status", class: "status", role: "status" }));
  },
  async load() {
    items = await api("/api/quarantine?limit=50");
    document.getElementById("quarantine-replay-all").disabled = !items.length;
    fill("quarantine", h("div", { class: "table-wrap" }, table(
      [{ text: "Select", class: "select admin-only" }, "#", "Received", "Source", "Reason", "Record", { text: "", class: "actions" }],
      items.map((q) => h("tr", { "data-id": q.id },
        h("td", { class: "select admin-only" }, h("input", { type: "checkbox", class: "pick", value: q.id,
          "aria-label": `Select record ${q.id}`, onchange: selectionChanged })),
        h("td", { class: "nowrap id" }, `#${q.id}`),  // the number the status line, the CLI and the API use
        h("td", { class: "nowrap" }, time(q.received_at)),
        h("td", {}, q.source, q.authenticated ? "" : h("span", { class: "hint" }, " (unsigned)")),
        h("td", { class: "reason" }, q.reason), h("td", { class: "record" }, body(q)),
        h("td", { class: "actions" },
          h("button", { type: "button", class: "secondary admin-only", "aria-label": `Replay record ${q.id}`,
            onclick: () => replay(q.id) }, "Replay"),
          h("button", { type: "button", class: "secondary admin-only", "aria-label": `Dismiss record ${q.id}`,
            onclick: () => dismiss([q.id]) }, "Dismiss")))),
      "Nothing in quarantine.", { class: "quarantine-list" })));
    selectionChanged();  // counted on the new rows: the old ones, still ticked, are gone
  },
};
addPanel(panel);

function say(text) {
  document.getElementById("quarantine-status").textContent = text;
}

function selected() {
  return [...document.querySelectorAll("#quarantine input.pick:checked")].map((box) => Number(box.value));
}

function selectionChanged() {
  const count = selected().length;
  const button = document.getElementById("quarantine-dismiss-selected");
  button.disabled = !count;
  button.textContent = count ? `Dismiss selected (${count})` : "Dismiss selected";
}

// What became of one record, in words.
function outcome(item) {
  if (item.outcome === "stored") return `#${item.id} is now facts and left the quarantine.`;
  if (item.outcome === "duplicate") return `#${item.id} was stored already; it left the quarantine.`;
  if (item.outcome === "missing") return `#${item.id} is no longer in the quarantine.`;
  return `#${item.id} stays: ${item.reason}`;
}

async function replay(id) {
  try {
    say(outcome(await send("POST", `/api/quarantine/${id}/replay`)));
  } catch (error) {
    say(`Could not replay #${id}: ${error.message}`);
  }
  await reloadPanel();
}

async function replayAll() {
  const yes = await confirmAction({
    title: "Replay the whole quarantine?",
    text: "Every record is parsed again with this version. What now parses becomes facts (fates, "
      + "suppressions, changes for webhooks) and leaves the quarantine; the rest stays.",
    yes: "Replay all",
  });
  if (!yes) return;
  say("Replaying…");
  try {
    const result = await send("POST", "/api/quarantine/replay");
    say(`Replayed ${number(result.items.length)}: ${number(result.stored)} now facts, `
      + `${number(result.duplicate)} stored already, ${number(result.kept)} stay.`);
  } catch (error) {
    say(`Could not replay: ${error.message}`);
  }
  await reloadPanel();
}

async function dismissSelected() {
  await dismiss(selected());
}

async function dismiss(ids) {
  if (!ids.length) return;
  const one = ids.length === 1;
  const yes = await confirmAction({
    title: one ? `Dismiss record #${ids[0]}?` : `Dismiss ${ids.length} records?`,
    text: `${one ? "It is" : "They are"} deleted for good: nobody can replay ${one ? "it" : "them"} later.`,
    yes: one ? "Dismiss it" : `Dismiss ${ids.length}`,
    danger: true,
  });
  if (!yes) return;
  try {
    const result = one ? await send("DELETE", `/api/quarantine/${ids[0]}`)
      : await send("POST", "/api/quarantine/dismiss", { ids });
    say(`Dismissed ${result.dismissed.map((id) => `#${id}`).join(", ") || "nothing"}.`);
  } catch (error) {
    say(`Could not dismiss: ${error.message}`);
  }
  await reloadPanel();
}

async function reloadPanel() {
  try {
    await panel.load();
  } catch (error) {
    say(`Could not reload the list: ${error.message}`);
  }
}

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
  }, h("summary", {}, counted(q.size, "byte")), pre);
}
