// Links into the activity view: a message, an address.
import { address as addressText, h, shortId } from "./dom.js";
import * as route from "./route.js";

// A message id on one line, shortened in the middle; the whole id is its title and what it opens.
export function messageLink(id) {
  return h("a", { class: "mono id", href: `#view=activity&message=${encodeURIComponent(id)}`, title: id,
    "data-message": id, "aria-label": `Message ${id}`, onclick: (event) => {
      if (event.ctrlKey || event.metaKey || event.shiftKey) return; // a new tab: the browser does it
      event.preventDefault();
      route.change({ view: "activity", message: id });
    } }, shortId(id));
}

export function addressLink(address) {
  return h("a", { href: `#view=activity&recipient=${encodeURIComponent(address)}`, "data-address": address, onclick: (event) => {
      if (event.ctrlKey || event.metaKey || event.shiftKey) return;
      event.preventDefault();
      route.go("activity", new URLSearchParams({ recipient: address }));
    } }, addressText(address));
}
