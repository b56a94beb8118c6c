// Talking to the JSON API of the server that served the page, with the bearer token when one is set.

const TOKEN_KEY = "mailfate-token";

export class ApiError extends Error {
  // status 0: no answer at all (the server is down or unreachable).
  constructor(message, status) { super(message); this.status = status; }
  // The API is not there or not working: one banner says so, not every panel.
  get offline() { return this.status === 0 || this.status >= 500; }
  // The token was asked for and not given (Escape in the token dialog).
  get needsToken() { return this.status === 401; }
}

let tokenPrompt = null; // one prompt at a time, however many requests were refused
let declined = false; // the prompt was dismissed: do not ask again until someone says so

export function allowTokenPrompt() { declined = false; }

export async function api(path, options = {}, onResponse = null) {
  const headers = { ...(options.headers || {}) };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, { ...options, headers });
  } catch (error) {
    throw new ApiError("no answer from the mailfate server", 0);
  }
  if (response.status === 401) {
    // Refused with a token that has since been replaced (another request's prompt): just try the new one.
    if (sessionStorage.getItem(TOKEN_KEY) === token) {
      if (declined) throw new ApiError("this mailfate asks for an API token", 401);
      await askToken(token ? "That token was refused." : "");
    }
    return api(path, options, onResponse);
  }
  if (onResponse) onResponse(response);
  const type = response.headers.get("content-type") || "";
  let body = null;
  if (type.includes("json")) {
    try { body = await response.json(); } catch (error) { body = null; }
  }
  if (!response.ok) throw new ApiError((body && body.error) || response.statusText || "error", response.status);
  return body;
}

// A page of a list answered as an array, and the URL of the next page (its Link header) or null.
export async function apiPage(path) {
  let next = null;
  const body = await api(path, {}, (response) => {
    const link = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get("link") || "");
    next = link ? link[1] : null;
  });
  return { body, next };
}

// A write: JSON in, JSON out.
export function send(method, path, body) {
  return api(path, body === undefined ? { method }
    : { method, body: JSON.stringify(body), headers: { "Content-Type": "application/json" } });
}

// The link that downloads a file from the API. With a token, a plain link cannot carry it: the file
// is fetched with it and handed to the browser as a blob.
export async function download(path, name) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) {
    const link = Object.assign(document.createElement("a"), { href: path, download: name });
    document.body.append(link);
    link.click();
    link.remove();
    return;
  }
  const response = await fetch(path, { headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) throw new ApiError(response.statusText, response.status);
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement("a"), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function askToken(message) {
  if (tokenPrompt) return tokenPrompt;
  const dialog = document.getElementById("token-dialog");
  const form = document.getElementById("token-form");
  const input = document.getElementById("token");
  document.getElementById("token-error").textContent = message;
  tokenPrompt = new Promise((resolve, reject) => {
    const given = (event) => {
      event.preventDefault();
      const value = input.value.trim();
      if (!value) return;
      sessionStorage.setItem(TOKEN_KEY, value);
      input.value = "";
      done();
      dialog.close();
      resolve();
    };
    // Escape (or the Cancel button): every request waiting for the token fails as "needs a token",
    // and the page says so once, with a button to enter it, instead of waiting for ever.
    const dismissed = (event) => {
      if (event) event.preventDefault();
      declined = true;
      done();
      dialog.close();
      reject(new ApiError("this mailfate asks for an API token", 401));
    };
    const cancelButton = document.getElementById("token-cancel");
    const done = () => {
      tokenPrompt = null;
      form.removeEventListener("submit", given);
      dialog.removeEventListener("cancel", dismissed);
      cancelButton.removeEventListener("click", dismissed);
    };
    form.addEventListener("submit", given);
    dialog.addEventListener("cancel", dismissed);
    cancelButton.addEventListener("click", dismissed);
  });
  dialog.showModal();
  input.focus();
  return tokenPrompt;
}
