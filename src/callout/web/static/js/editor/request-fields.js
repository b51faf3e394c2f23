// The request fields of Make HTTPS Request beyond URL and headers: query parameters, the
// body (JSON, form fields or raw text with its content type), client certificate and
// redirects. Each writes the workflow document's own format (docs/workflow-document.md).

import { h } from "../dom.js";
import { field, jsonArea, pairRows } from "./fields.js";
import { insertButton } from "./insert-menu.js";
import { secretPicker } from "./secret-picker.js";

export const WITH_BODY = new Set(["PATCH", "POST", "PUT"]);
const BODY_TYPES = [["json", "JSON"], ["form", "Form fields (URL-encoded)"], ["raw", "Raw text"]];

export function queryField({ step, index, refs, changed }) {
  const pairs = pairRows({
    read: () => step.query,
    write: (list) => { if (list.length) step.query = list; else delete step.query; },
    idPrefix: "query",
    noun: "Query parameter",
    path: `steps[${index}].query`,
    keyPlaceholder: "limit",
    valuePlaceholder: "10",
    refs,
    changed,
    addLabel: "Add query parameter",
  });
  return h(
    "fieldset",
    { class: "field" },
    h("legend", {}, "Query Parameters"),
    h("p", { class: "muted small" }, "Added after any query in the URL, each key and value encoded by callout."),
    pairs.rows,
    pairs.add,
    h("p", { class: "field-error", id: "step-query-error", hidden: true }),
  );
}

// The body: a type, and the editor of that type. Each type keeps what was typed in it
// while the panel is open, so switching back and forth loses nothing.
export function bodyField({ step, index, refs, changed, invalid }) {
  const initial = step.body_type ?? "json";
  const drafts = {
    json: initial === "json" ? step.body : undefined,
    form: initial === "form" && Array.isArray(step.body) ? step.body : [],
    raw: initial === "raw" && typeof step.body === "string" ? step.body : "",
    contentType: step.content_type ?? "",
  };
  let type = initial;
  let jsonValid = true;
  let ready = false; // the JSON box reports once while it is built, before the rest exists

  const kind = h("select", { id: "step-body-type", "data-path": `steps[${index}].body_type` }, BODY_TYPES.map(([value, label]) => h("option", { value, selected: value === type }, label)));

  const json = jsonArea("step-body", "Body JSON", drafts.json, (result) => {
    jsonValid = result.invalid === undefined;
    drafts.json = result.value;
    if (ready) apply();
  }, { rows: 8 });
  json.area.dataset.path = `steps[${index}].body`;
  const jsonPart = field("step-body", "Body JSON", json.area, insertButton(json.area, "Body JSON", refs), json.check);

  const form = pairRows({
    read: () => drafts.form,
    write: (list) => { drafts.form = list; apply(); },
    idPrefix: "form",
    noun: "Form field",
    path: `steps[${index}].body`,
    keyPlaceholder: "amount",
    valuePlaceholder: "{{ trigger.amount }}",
    refs,
    changed: () => apply(),
    addLabel: "Add form field",
  });
  const formPart = h("fieldset", { class: "field" }, h("legend", {}, "Form fields"), form.rows, form.add, h("p", { class: "field-error", id: "step-form-error", hidden: true }));

  const raw = h("textarea", { id: "step-body-raw", rows: 6, class: "code", spellcheck: "false", placeholder: '<order id="{{ trigger.id }}"/>', "data-path": `steps[${index}].body` });
  raw.value = drafts.raw;
  raw.addEventListener("input", () => { drafts.raw = raw.value; apply(); });
  const contentType = h("input", { id: "step-content-type", value: drafts.contentType, placeholder: "text/plain; charset=utf-8", autocomplete: "off", "data-path": `steps[${index}].content_type` });
  contentType.addEventListener("input", () => { drafts.contentType = contentType.value.trim(); apply(); });
  const rawPart = h("div", {}, field("step-body-raw", "Raw body", raw, insertButton(raw, "Raw body", refs)), field("step-content-type", "Content type", contentType));

  const section = h("div", { class: "body-fields" }, field("step-body-type", "Body type", kind), jsonPart, formPart, rawPart);

  // Write the document from the method, the type and its draft.
  function apply() {
    invalid.delete("Body JSON");
    delete step.body;
    delete step.body_type;
    delete step.content_type;
    const sends = WITH_BODY.has(step.method ?? "POST");
    section.hidden = !sends;
    jsonPart.hidden = type !== "json";
    formPart.hidden = type !== "form";
    rawPart.hidden = type !== "raw";
    if (sends && type === "json") {
      if (!jsonValid) invalid.add("Body JSON");
      else if (drafts.json !== undefined) step.body = drafts.json;
    } else if (sends && type === "form" && drafts.form.length) {
      step.body_type = "form";
      step.body = drafts.form;
    } else if (sends && type === "raw" && drafts.raw) {
      step.body_type = "raw";
      step.body = drafts.raw;
      if (drafts.contentType) step.content_type = drafts.contentType;
    }
    changed();
  }
  kind.addEventListener("change", () => {
    type = kind.value;
    apply();
  });
  ready = true;
  apply();
  return { section, apply };
}

export function clientCertificateField({ step, index, secrets, changed }) {
  const picker = secretPicker({
    id: "step-client-certificate",
    path: `steps[${index}].client_certificate`,
    value: step.client_certificate,
    secrets,
    none: "No client certificate",
    kind: "certificate",
    onChange: (reference) => {
      if (reference) step.client_certificate = reference;
      else delete step.client_certificate;
      changed();
    },
  });
  return field("step-client-certificate", "Client certificate (mutual TLS)", picker, h("p", { class: "muted small hint" }, "A stored secret holding the certificate and its key (PEM)."));
}

export function followRedirectsField({ step, index, changed }) {
  const box = h("input", { id: "step-follow-redirects", type: "checkbox", checked: step.follow_redirects === true, "data-path": `steps[${index}].follow_redirects` });
  box.addEventListener("change", () => {
    if (box.checked) step.follow_redirects = true;
    else delete step.follow_redirects;
    changed();
  });
  return h(
    "div",
    { class: "field checkbox" },
    box,
    h("label", { for: "step-follow-redirects" }, "Follow redirects (up to 5)"),
    h("p", { class: "field-error", id: "step-follow-redirects-error", hidden: true }),
  );
}
