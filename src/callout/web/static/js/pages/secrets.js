// Secrets: add, rotate, delete. Values are write-only: never shown again.

import { api, ApiError } from "../api.js";
import { app, banner, clear, emptyState, h, pageHeader, when } from "../dom.js";

const root = app();
const messages = h("div", { "aria-live": "polite" });

function say(kind, text, details = []) {
  clear(messages, banner(kind, text, details));
}

function failure(error) {
  say("error", error.message, error instanceof ApiError ? error.details : []);
}

function addForm() {
  const name = h("input", { id: "secret-name", required: true, maxlength: 64, pattern: "[A-Za-z_][A-Za-z0-9_]*", placeholder: "crm_signing", autocomplete: "off" });
  const value = h("input", { id: "secret-value", type: "password", required: true, autocomplete: "new-password" });
  const form = h(
    "form",
    { class: "card form-grid", "aria-label": "Add a secret" },
    h("h2", {}, "Add a secret"),
    h("label", { for: "secret-name" }, "Name"),
    name,
    h("label", { for: "secret-value" }, "Value"),
    value,
    h("button", { type: "submit", class: "primary" }, "Add secret"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("POST", "/v1/secrets", { name: name.value, value: value.value });
      say("ok", `Secret ${name.value} stored. Its value will not be shown again.`);
      form.reset();
      await render();
    } catch (error) {
      failure(error);
    }
  });
  return form;
}

function rotateForm(secret) {
  const id = `rotate-${secret.name}`;
  const value = h("input", { id, type: "password", required: true, autocomplete: "new-password" });
  const grace = h("input", { id: `${id}-grace`, type: "number", min: 0, max: 168, step: "any", value: 24 });
  const form = h(
    "form",
    { class: "inline-form", "aria-label": `Rotate ${secret.name}` },
    h("label", { for: id }, `New value for ${secret.name}`),
    value,
    h("label", { for: `${id}-grace` }, "Old value keeps signing for (hours)"),
    grace,
    h("button", { type: "submit" }, "Rotate"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("POST", `/v1/secrets/${secret.name}/rotate`, { value: value.value, grace_seconds: Number(grace.value) * 3600 });
      say("ok", `Secret ${secret.name} rotated.`);
      await render();
    } catch (error) {
      failure(error);
    }
  });
  return form;
}

function row(secret) {
  const rotate = rotateForm(secret);
  rotate.hidden = true;
  const remove = async () => {
    if (!window.confirm(`Delete secret ${secret.name}? Workflows that use it will fail to resolve it.`)) return;
    try {
      await api("DELETE", `/v1/secrets/${secret.name}`);
      say("ok", `Secret ${secret.name} deleted.`);
      await render();
    } catch (error) {
      failure(error);
    }
  };
  return [
    h(
      "tr",
      {},
      h("td", {}, h("code", {}, secret.name)),
      h("td", {}, `v${secret.version}`),
      h("td", {}, when(secret.updated_at)),
      h("td", {}, secret.previous_signs_until ? `until ${when(secret.previous_signs_until)}` : "—"),
      h(
        "td",
        { class: "row-actions" },
        h("button", { type: "button", "aria-label": `Rotate ${secret.name}`, onclick: () => { rotate.hidden = !rotate.hidden; } }, "Rotate"),
        h("button", { type: "button", class: "danger", "aria-label": `Delete ${secret.name}`, onclick: remove }, "Delete"),
      ),
    ),
    h("tr", { class: "subrow" }, h("td", { colspan: 5 }, rotate)),
  ];
}

async function render() {
  const secrets = await api("GET", "/v1/secrets");
  const table = secrets.length
    ? h(
        "table",
        { class: "table" },
        h("caption", { class: "visually-hidden" }, "Secrets"),
        h("thead", {}, h("tr", {}, ["Name", "Version", "Updated", "Previous value signs", ""].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, secrets.map(row)),
      )
    : emptyState("No secrets yet", "Add one to sign requests or fill a header: {{ secrets.name }}.");
  clear(root, pageHeader("Secrets"), messages, table, addForm());
}

render().catch(failure);
