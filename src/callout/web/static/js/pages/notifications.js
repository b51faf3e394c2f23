// Notifications: the endpoints told of run events (a run failed or completed, a step errored,
// a host was paused), added, turned off and on, and deleted (/v1/notification-endpoints).
// A new endpoint's signing secret is shown once, right after it is added, and kept nowhere
// in the page after that. Each notification is a run of the organization's system workflow,
// so the runs list filtered by it shows every one sent.

import { api, ApiError } from "../api.js";
import { app, banner, clear, emptyState, h, labelledCell, pageHeader, when } from "../dom.js";
import { errorNotice, explainError, fieldProblem, notice, words } from "../messages.js";

const root = app();
const messages = h("div", { class: "messages", "aria-live": "polite" });
const secretPart = h("div", { class: "secret-once" });
const listPart = h("div", { class: "endpoints-list" });
const runsPart = h("p", { class: "system-runs" });
let endpoints = [];

const EVENTS = [
  { type: "run.failed", label: "Run failed", hint: "a run stopped on a step that errored" },
  { type: "run.completed", label: "Run completed", hint: "every step of a run ran to its end" },
  { type: "step.errored", label: "Step errored", hint: "a step gave up, even one that continues on error" },
  { type: "host.paused", label: "Host paused", hint: "the circuit breaker paused a host after failures in a row" },
];
const FORMATS = { callout: "callout JSON", slack: "Slack-compatible" };

function eventLabel(type) {
  return EVENTS.find((e) => e.type === type)?.label ?? type;
}

// ---- the list

function enabledToggle(endpoint) {
  const id = `enabled-${endpoint.id}`;
  const box = h("input", { id, type: "checkbox", checked: endpoint.enabled });
  box.addEventListener("change", async () => {
    box.disabled = true;
    try {
      const changed = await api("PATCH", `/v1/notification-endpoints/${endpoint.id}`, { enabled: box.checked });
      endpoints = endpoints.map((e) => (e.id === changed.id ? changed : e));
      clear(messages, banner("ok", changed.enabled ? `${changed.name} is enabled: it is told of its events again.` : `${changed.name} is disabled: it is told of nothing until it is enabled again.`));
    } catch (error) {
      box.checked = !box.checked;
      clear(messages, errorNotice(error));
    } finally {
      box.disabled = false;
    }
  });
  return h("span", { class: "toggle" }, box, h("label", { for: id }, "Enabled", h("span", { class: "visually-hidden" }, `: ${endpoint.name}`)));
}

async function remove(endpoint) {
  if (!window.confirm(`Delete the endpoint ${endpoint.name}? It is told of nothing more; the notifications already sent stay in the runs list.`)) return;
  try {
    await api("DELETE", `/v1/notification-endpoints/${endpoint.id}`);
    await load();
    clear(messages, banner("ok", `Endpoint ${endpoint.name} deleted.`));
  } catch (error) {
    clear(messages, errorNotice(error));
  }
}

function row(endpoint) {
  return h(
    "tr",
    { "data-endpoint-id": endpoint.id },
    h("td", { class: "cell-title" }, endpoint.name),
    labelledCell("URL", { class: "endpoint-url" }, h("code", {}, endpoint.url)),
    labelledCell("Events", {}, endpoint.events.map(eventLabel).join(", ")),
    labelledCell("Format", {}, FORMATS[endpoint.format] ?? endpoint.format),
    labelledCell("Enabled", {}, enabledToggle(endpoint)),
    labelledCell("Added", {}, when(endpoint.created_at)),
    h("td", { class: "row-actions" }, h("button", { type: "button", class: "danger", "aria-label": `Delete ${endpoint.name}`, onclick: () => remove(endpoint) }, "Delete")),
  );
}

function list() {
  if (!endpoints.length) {
    return emptyState("No endpoints yet", "Add one to be told, at an HTTPS address of yours or a Slack channel, when a run fails or completes, a step errors or a host is paused.");
  }
  return h(
    "table",
    { class: "table cards endpoints" },
    h("caption", { class: "visually-hidden" }, "Notification endpoints"),
    h("thead", {}, h("tr", {}, ["Name", "URL", "Events", "Format", "Enabled", "Added", ""].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, endpoints.map(row)),
  );
}

function systemRuns() {
  const workflowId = endpoints.find((e) => e.workflow_id)?.workflow_id;
  if (!workflowId) return null;
  return [
    "Each notification is a run of the system workflow, signed and retried like any other: ",
    h("a", { href: `/runs?workflow_id=${encodeURIComponent(workflowId)}` }, "see the notifications sent"),
    ".",
  ];
}

async function load() {
  endpoints = (await api("GET", "/v1/notification-endpoints")).endpoints;
  clear(listPart, list());
  clear(runsPart, systemRuns());
}

// ---- the signing secret, shown once

function copyButton(input) {
  const state = h("span", { class: "muted small", role: "status" });
  const button = h("button", { type: "button" }, "Copy");
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(input.value);
    } catch {
      // No clipboard API (a page served over plain http to another machine): the old way.
      input.select();
      document.execCommand("copy");
    }
    state.textContent = "Copied.";
  });
  return [button, state];
}

function showSecret(endpoint, secret) {
  const input = h("input", { id: "signing-secret", type: "text", readonly: true, value: secret, class: "code", spellcheck: "false", autocomplete: "off" });
  const done = h("button", { type: "button", class: "primary" }, "I have stored it");
  const card = h(
    "section",
    { class: "card banner-warning signing-secret", "aria-labelledby": "secret-title" },
    h("h2", { id: "secret-title" }, `Signing secret of ${endpoint.name}`),
    h("p", {}, h("strong", {}, "Shown this once."), " Copy it now and give it to the receiver: callout keeps it encrypted and never shows it again."),
    h("label", { for: "signing-secret" }, "Signing secret"),
    h("div", { class: "inline-form" }, input, copyButton(input)),
    h(
      "p",
      { class: "small" },
      words(`To check that a notification came from callout, the receiver computes HMAC-SHA256 with this secret over the timestamp, a dot and the raw body (\`<t>.<body>\`), compares it with \`v1\` in the \`Persona-Signature: t=...,v1=...\` header, and refuses a \`t\` more than 5 minutes away; in Python, \`callout.signing.verify(header, raw_body, secret)\` does all of it.`),
    ),
    endpoint.secret_name ? h("p", { class: "small muted" }, words(`It is stored as the secret \`${endpoint.secret_name}\`: to change it, rotate that secret on the Secrets page.`)) : null,
    done,
  );
  done.addEventListener("click", () => clear(secretPart));
  clear(secretPart, card);
  input.focus();
  input.select();
}

// ---- adding one

function field(id, label, input, hint) {
  input.id = id;
  if (hint) input.setAttribute("aria-describedby", `${id}-hint`);
  const error = h("p", { id: `${id}-error`, class: "field-error", hidden: true });
  const part = h("div", { class: "field" }, h("label", { for: id }, label), h("div", { class: "control" }, input), hint ? h("p", { id: `${id}-hint`, class: "muted small hint" }, hint) : null, error);
  return { part, input, error, hint: Boolean(hint) };
}

function said(entry, text) {
  entry.error.hidden = text === null;
  entry.error.textContent = text ?? "";
  entry.input.setAttribute("aria-invalid", text === null ? "false" : "true");
  const id = entry.input.id;
  const described = [text === null ? null : `${id}-error`, entry.hint ? `${id}-hint` : null].filter(Boolean).join(" ");
  if (described) entry.input.setAttribute("aria-describedby", described);
  else entry.input.removeAttribute("aria-describedby");
}

function eventBoxes() {
  const boxes = EVENTS.map((e) => h("input", { type: "checkbox", id: `event-${e.type.replace(".", "-")}`, name: "events", value: e.type, checked: e.type === "run.failed" }));
  const error = h("p", { id: "endpoint-events-error", class: "field-error", hidden: true });
  const group = h(
    "fieldset",
    { class: "field events", "aria-describedby": "endpoint-events-error" },
    h("legend", {}, "Events"),
    EVENTS.map((e, i) => h("div", { class: "field checkbox" }, boxes[i], h("label", { for: boxes[i].id }, e.label, " ", h("span", { class: "muted small event-hint" }, "(", h("code", {}, e.type), `: ${e.hint})`)))),
    error,
  );
  // One entry like the other fields: `input` is the group, which says it is invalid.
  return { part: group, input: group, error, boxes, hint: false };
}

function addForm() {
  const fields = {
    name: field("endpoint-name", "Name", h("input", { type: "text", autocomplete: "off", maxlength: 200, placeholder: "Ops channel" })),
    url: field("endpoint-url", "URL", h("input", { type: "url", autocomplete: "off", spellcheck: "false", placeholder: "https://hooks.example.com/callout" }), "An HTTPS address; each notification is a signed POST to it."),
    events: eventBoxes(),
    format: field(
      "endpoint-format",
      "Format",
      h("select", {}, Object.entries(FORMATS).map(([value, label]) => h("option", { value }, label))),
      "callout JSON: the event as JSON (type, run, workflow, step, error). Slack-compatible: a {\"text\": ...} body, for a Slack incoming webhook or anything that reads one.",
    ),
  };
  const form = h(
    "form",
    { class: "card settings endpoint-form", "aria-labelledby": "add-endpoint-title", novalidate: true },
    h("h2", { id: "add-endpoint-title" }, "Add endpoint"),
    Object.values(fields).map((f) => f.part),
    h("button", { type: "submit", class: "primary" }, "Add endpoint"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const entry of Object.values(fields)) said(entry, null);
    const body = {
      name: fields.name.input.value.trim(),
      url: fields.url.input.value.trim(),
      events: fields.events.boxes.filter((b) => b.checked).map((b) => b.value),
      format: fields.format.input.value,
    };
    try {
      const made = await api("POST", "/v1/notification-endpoints", body);
      const { signing_secret: secret, ...endpoint } = made;
      form.reset();
      await load();
      clear(messages, banner("ok", `Endpoint ${endpoint.name} added.`));
      showSecret(endpoint, secret);
    } catch (error) {
      refused(error, fields);
    }
  });
  return form;
}

function refused(error, fields) {
  if (!(error instanceof ApiError) || ![409, 422].includes(error.status)) {
    clear(messages, errorNotice(error));
    return;
  }
  const elsewhere = [];
  if (error.status === 409) said(fields.name, "Another endpoint has this name: choose another.");
  for (const problem of error.details) {
    const name = /^(?:body\.)?([a-z_]+)/.exec(problem.path ?? "")?.[1];
    const entry = fields[name];
    if (entry) said(entry, fieldProblem(problem.message));
    else elsewhere.push(problem.path ? `${problem.path}: ${problem.message}` : problem.message);
  }
  const count = Object.values(fields).filter((f) => !f.error.hidden).length + elsewhere.length;
  clear(messages, notice("error", {
    what: `The endpoint was not added: ${count === 1 ? "1 problem" : `${count} problems`} to fix${elsewhere.length ? "" : ", shown beside the fields"}.`,
    problems: elsewhere,
  }));
  const first = Object.values(fields).find((f) => !f.error.hidden);
  (first?.boxes?.[0] ?? first?.input)?.focus();
}

async function start() {
  clear(
    root,
    pageHeader("Notifications"),
    h("p", { class: "muted intro" }, "Endpoints told when a run fails or completes, a step errors, or a host is paused. Each request is signed with the endpoint's own secret."),
    runsPart,
    messages,
    secretPart,
    listPart,
    addForm(),
  );
  await load();
}

start().catch((error) => clear(root, pageHeader("Notifications"), notice("error", { ...explainError(error), what: "The notification endpoints could not be loaded.", todo: "Reload the page; if it still fails, the technical detail says why." })));
