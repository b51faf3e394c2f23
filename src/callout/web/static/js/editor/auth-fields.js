// Authentication of Make HTTPS Request: none, Basic, Bearer token or OAuth2 client
// credentials. Passwords, tokens and client secrets are chosen from stored secrets only;
// a user name and a client ID are text that may insert references with +.

import { h } from "../dom.js";
import { field } from "./fields.js";
import { insertButton } from "./insert-menu.js";
import { secretPicker } from "./secret-picker.js";

const TYPES = [
  ["", "None"],
  ["basic", "Basic (user name and password)"],
  ["bearer", "Bearer token"],
  ["oauth2_client_credentials", "OAuth2 client credentials"],
];

function text(id, label, auth, key, { path, placeholder, refs, changed, split = false }) {
  const initial = auth[key];
  const input = h("input", { id, value: Array.isArray(initial) ? initial.join(" ") : initial ?? "", placeholder, autocomplete: "off", "data-path": `${path}.${key}` });
  input.addEventListener("input", () => {
    const value = input.value.trim();
    if (!value) delete auth[key];
    else auth[key] = split ? value.split(/\s+/) : input.value;
    changed();
  });
  return field(id, label, input, refs ? insertButton(input, label, refs) : null);
}

function secret(id, label, auth, key, { path, secrets, none, changed }) {
  const picker = secretPicker({
    id,
    path: `${path}.${key}`,
    value: auth[key],
    secrets,
    none,
    kind: "text",
    onChange: (reference) => {
      if (reference) auth[key] = reference;
      else delete auth[key];
      changed();
    },
  });
  return field(id, label, picker);
}

function fieldsOf(auth, options) {
  if (auth.type === "basic") {
    return [
      text("auth-username", "User name", auth, "username", { ...options, placeholder: "api_user or {{ secrets.name }}" }),
      secret("auth-password", "Password", auth, "password", { ...options, none: "No password" }),
    ];
  }
  if (auth.type === "bearer") return [secret("auth-token", "Token", auth, "token", { ...options, none: "Choose a secret" })];
  if (auth.type === "oauth2_client_credentials") {
    const clientAuth = h("select", { id: "auth-client-auth", "data-path": `${options.path}.client_auth` },
      h("option", { value: "basic", selected: auth.client_auth !== "body" }, "In a Basic Authorization header"),
      h("option", { value: "body", selected: auth.client_auth === "body" }, "In the token request's body"));
    clientAuth.addEventListener("change", () => {
      if (clientAuth.value === "body") auth.client_auth = "body";
      else delete auth.client_auth;
      options.changed();
    });
    return [
      text("auth-token-url", "Token URL", auth, "token_url", { ...options, refs: null, placeholder: "https://auth.example.com/oauth/token" }),
      text("auth-client-id", "Client ID", auth, "client_id", { ...options, placeholder: "my-client" }),
      secret("auth-client-secret", "Client secret", auth, "client_secret", { ...options, none: "Choose a secret" }),
      text("auth-scopes", "Scopes (separated by spaces)", auth, "scopes", { ...options, refs: null, placeholder: "read write", split: true }),
      text("auth-audience", "Audience", auth, "audience", { ...options, refs: null, placeholder: "https://api.example.com" }),
      field("auth-client-auth", "Send the client ID and secret", clientAuth),
    ];
  }
  return [];
}

export function authField({ step, index, secrets, refs, changed }) {
  const path = `steps[${index}].auth`;
  const kind = h("select", { id: "step-auth-type", "data-path": path }, TYPES.map(([value, label]) => h("option", { value, selected: (step.auth?.type ?? "") === value }, label)));
  const parts = h("div", { class: "auth-fields" });
  const render = () => {
    parts.replaceChildren(...(step.auth ? fieldsOf(step.auth, { path, secrets, refs, changed }) : []));
  };
  kind.addEventListener("change", () => {
    if (kind.value) step.auth = { type: kind.value };
    else delete step.auth;
    render();
    changed();
  });
  render();
  return h(
    "fieldset",
    { class: "field auth" },
    h("legend", {}, "Authentication"),
    h("label", { for: "step-auth-type", class: "visually-hidden" }, "Authentication type"),
    kind,
    h("p", { class: "field-error", id: "step-auth-type-error", hidden: true }),
    parts,
    h("p", { class: "muted small" }, "Passwords, tokens and client secrets are stored secrets: add them on the ", h("a", { href: "/secrets", target: "_blank", rel: "noopener" }, "Secrets page"), "."),
  );
}
