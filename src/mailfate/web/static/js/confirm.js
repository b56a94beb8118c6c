// Asking before a write that cannot be taken back: one dialog for every such action. Escape or Cancel
// answers no.

export function confirmAction({ title, text, yes, danger = false }) {
  const dialog = document.getElementById("confirm-dialog");
  const button = document.getElementById("confirm-yes");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").textContent = text;
  button.textContent = yes;
  button.className = danger ? "danger" : "";
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.onclose = () => resolve(dialog.returnValue === "yes");
    dialog.showModal();
    button.focus();
  });
}
