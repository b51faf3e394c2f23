// Secrets: add, rotate, delete. Values are write-only: never shown again.
// A secret is text, or a client certificate (PEM certificate and key, for mutual TLS)
// whose subject and expiry are shown.

import { api, ApiError } from "../api.js";
import { app, banner, clear, emptyState, h, labelledCell, pageHeader, when } from "../dom.js";

const root = app();
const messages = h("div", { "aria-live": "polite" });

function say(kind, text, details = []) {
  clear(messages, banner(kind, text, details));
}

function failure(error) {
  say("error", error.message, error instanceof ApiError ? error.details : []);
}

const PEM_PLACEHOLDER = "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----";

// A PEM text area with a file picker beside it: the files chosen (a certificate and
// its key may come as two) are read in the browser and put in the text area.
function pemField(id, label) {
  const text = h("textarea", { id, class: "code", rows: 8, spellcheck: "false", autocomplete: "off", placeholder: PEM_PLACEHOLDER });
  const files = h("input", { id: `${id}-file`, type: "file", multiple: true, accept: ".pem,.crt,.cer,.key,application/x-pem-file,text/plain" });
  files.addEventListener("change", async () => {
    const texts = await Promise.all([...files.files].map((file) => file.text()));
    text.value = texts.map((t) => t.trim()).join("\n") + "\n";
    files.value = "";
  });
  const part = h(
    "div",
    { class: "form-grid" },
    h("label", { for: id }, label),
    text,
    h("label", { for: `${id}-file` }, "Or upload PEM files (certificate and key)"),
    files,
    h("p", { class: "muted small" }, "The certificate (and its chain) and its unencrypted private key. Checked when saved; only its subject and expiry are shown afterwards."),
  );
  return { part, text };
}

function addForm() {
  const name = h("input", { id: "secret-name", required: true, maxlength: 64, pattern: "[A-Za-z_][A-Za-z0-9_]*", placeholder: "crm_signing", autocomplete: "off" });
  const kind = h(
    "select",
    { id: "secret-kind" },
    h("option", { value: "text" }, "Text"),
    h("option", { value: "certificate" }, "Client certificate (PEM)"),
  );
  const value = h("input", { id: "secret-value", type: "password", required: true, autocomplete: "new-password" });
  const textPart = h("div", { class: "form-grid" }, h("label", { for: "secret-value" }, "Value"), value);
  const pem = pemField("secret-pem", "Certificate and key (PEM)");
  const show = () => {
    const certificate = kind.value === "certificate";
    textPart.hidden = certificate;
    pem.part.hidden = !certificate;
    value.required = !certificate;
    pem.text.required = certificate;
  };
  kind.addEventListener("change", show);
  show();
  const form = h(
    "form",
    { class: "card form-grid", "aria-label": "Add a secret" },
    h("h2", {}, "Add a secret"),
    h("label", { for: "secret-name" }, "Name"),
    name,
    h("label", { for: "secret-kind" }, "Kind"),
    kind,
    textPart,
    pem.part,
    h("button", { type: "submit", class: "primary" }, "Add secret"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const certificate = kind.value === "certificate";
    try {
      await api("POST", "/v1/secrets", { name: name.value, kind: kind.value, value: certificate ? pem.text.value : value.value });
      say("ok", certificate ? `Certificate ${name.value} stored. Its key will not be shown again.` : `Secret ${name.value} stored. Its value will not be shown again.`);
      form.reset();
      show();
      await render();
    } catch (error) {
      failure(error);
    }
  });
  return form;
}

function rotateCertificateForm(secret) {
  const pem = pemField(`rotate-${secret.name}`, `New certificate and key for ${secret.name}`);
  pem.text.required = true;
  const form = h(
    "form",
    { class: "form-grid", "aria-label": `Rotate ${secret.name}` },
    pem.part,
    h("button", { type: "submit" }, "Rotate"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      // Only the current certificate is ever presented: the old one needs no grace.
      await api("POST", `/v1/secrets/${secret.name}/rotate`, { value: pem.text.value, grace_seconds: 0 });
      say("ok", `Certificate ${secret.name} rotated.`);
      await render();
    } catch (error) {
      failure(error);
    }
  });
  return form;
}

function certificateCell(secret) {
  if (!secret.certificate) return "—";
  const days = (new Date(secret.certificate.not_after).getTime() - Date.now()) / 86400000;
  // The dashboard's CSP allows no inline style: the warning borrows the draft badge's colours.
  const warning = days < 0 ? "expired" : days < 30 ? "expires soon" : null;
  return h(
    "span",
    {},
    h("code", {}, secret.certificate.subject),
    h("br"),
    warning ? h("span", { class: "badge status-draft" }, warning) : null,
    warning ? " " : null,
    h("span", { class: "small muted" }, `${days < 0 ? "expired" : "expires"} ${when(secret.certificate.not_after)}`),
  );
}

function rotateForm(secret) {
  if (secret.kind === "certificate") return rotateCertificateForm(secret);
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
      h("td", { class: "cell-title" }, h("code", {}, secret.name)),
      labelledCell("Kind", {}, secret.kind === "certificate" ? "certificate" : "text"),
      labelledCell("Version", {}, `v${secret.version}`),
      labelledCell("Updated", {}, when(secret.updated_at)),
      labelledCell("Certificate", {}, certificateCell(secret)),
      labelledCell("Previous value signs", {}, secret.previous_signs_until ? `until ${when(secret.previous_signs_until)}` : "—"),
      h(
        "td",
        { class: "row-actions" },
        h("button", { type: "button", "aria-label": `Rotate ${secret.name}`, onclick: () => { rotate.hidden = !rotate.hidden; } }, "Rotate"),
        h("button", { type: "button", class: "danger", "aria-label": `Delete ${secret.name}`, onclick: remove }, "Delete"),
      ),
    ),
    h("tr", { class: "subrow" }, h("td", { colspan: 7 }, rotate)),
  ];
}

async function render() {
  const secrets = await api("GET", "/v1/secrets");
  const table = secrets.length
    ? h(
        "table",
        { class: "table cards" },
        h("caption", { class: "visually-hidden" }, "Secrets"),
        h("thead", {}, h("tr", {}, ["Name", "Kind", "Version", "Updated", "Certificate", "Previous value signs", ""].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, secrets.map(row)),
      )
    : emptyState("No secrets yet", "Add one to sign requests, fill a header ({{ secrets.name }}) or present a client certificate.");
  clear(root, pageHeader("Secrets"), messages, table, addForm());
}

render().catch(failure);
