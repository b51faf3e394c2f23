// The step panel of Make HTTPS Request: every field of the step, checked as you type.

import { h } from "../dom.js";
import { insertButton } from "./insert-menu.js";
import { referenceGroups } from "./references.js";

export const METHODS = ["DELETE", "GET", "PATCH", "POST", "PUT"];
const WITH_BODY = new Set(["PATCH", "POST", "PUT"]);
const SCHEMA_TYPES = new Set(["object", "array", "string", "number", "integer", "boolean", "null"]);
const SECRET_REF = /^\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$/;

function field(id, label, control, ...extra) {
  return h("div", { class: "field" }, h("label", { for: id }, label), h("div", { class: "control" }, control, extra), h("p", { class: "field-error", id: `${id}-error`, hidden: true }));
}

export function jsonProblem(text, { schema = false } = {}) {
  if (!text.trim()) return null;
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `not valid JSON: ${error.message}`;
  }
  if (!schema) return null;
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "a schema must be a JSON object";
  const types = value.type === undefined ? [] : [].concat(value.type);
  const unknown = types.find((t) => !SCHEMA_TYPES.has(t));
  if (unknown !== undefined) return `"type" must be one of ${[...SCHEMA_TYPES].join(", ")} (not ${JSON.stringify(unknown)})`;
  if (value.properties !== undefined && (typeof value.properties !== "object" || Array.isArray(value.properties))) return '"properties" must be an object';
  if (value.required !== undefined && !Array.isArray(value.required)) return '"required" must be a list of names';
  return null;
}

// A JSON textarea bound to `get`/`set`; its problem shows as you type.
function jsonArea(id, label, value, set, options = {}) {
  const area = h("textarea", { id, rows: options.rows ?? 6, spellcheck: "false", class: "code", "aria-describedby": `${id}-check` });
  area.value = value === undefined ? "" : JSON.stringify(value, null, 2);
  const check = h("p", { id: `${id}-check`, class: "json-check", "aria-live": "polite" });
  const update = () => {
    const problem = jsonProblem(area.value, options);
    area.setAttribute("aria-invalid", problem ? "true" : "false");
    check.textContent = problem ? `${label}: ${problem}` : area.value.trim() ? "Valid JSON" : "";
    check.className = `json-check ${problem ? "bad" : "good"}`;
    set(area.value.trim() ? (problem ? { invalid: area.value } : { value: JSON.parse(area.value) }) : { empty: true });
  };
  area.addEventListener("input", update);
  update();
  return { area, check };
}

export function stepPanel({ doc, index, secrets, onChange, onClose, onRemove, onTest }) {
  const step = doc.steps[index];
  const refs = () => referenceGroups(doc, index, secrets);
  const invalid = new Set();
  const changed = () => onChange({ invalid: [...invalid] });

  const stepId = h("input", { id: "step-id", value: step.id ?? "", maxlength: 64, pattern: "[a-z][a-z0-9_]*", autocomplete: "off" });
  stepId.addEventListener("input", () => { step.id = stepId.value; changed(); });

  const url = h("input", { id: "step-url", value: step.url ?? "", placeholder: "https://api.example.com/users", autocomplete: "off", "data-path": `steps[${index}].url` });
  url.addEventListener("input", () => { step.url = url.value; changed(); });

  const method = h("select", { id: "step-method", "data-path": `steps[${index}].method` }, METHODS.map((m) => h("option", { value: m, selected: (step.method ?? "POST") === m }, m)));

  const body = jsonArea("step-body", "Body JSON", step.body, (result) => {
    invalid.delete("Body JSON");
    if (result.invalid !== undefined) invalid.add("Body JSON");
    else if (result.empty) delete step.body;
    else step.body = result.value;
    changed();
  }, { rows: 8 });
  body.area.dataset.path = `steps[${index}].body`;
  const bodyField = field("step-body", "Body JSON", body.area, insertButton(body.area, "Body JSON", refs), body.check);
  const showBody = () => {
    bodyField.hidden = !WITH_BODY.has(method.value);
  };
  method.addEventListener("change", () => {
    step.method = method.value;
    if (!WITH_BODY.has(method.value)) delete step.body;
    else if (body.area.value.trim() && !invalid.has("Body JSON")) step.body = JSON.parse(body.area.value);
    showBody();
    changed();
  });
  showBody();

  const headerRows = h("div", { class: "rows" });
  const renderHeaders = () => {
    step.headers = step.headers ?? [];
    headerRows.replaceChildren(
      ...step.headers.map((header, i) => {
        const key = h("input", { id: `header-key-${i}`, value: header.key ?? "", placeholder: "X-Api-Version", autocomplete: "off", "data-path": `steps[${index}].headers[${i}].key` });
        const value = h("input", { id: `header-value-${i}`, value: header.value ?? "", placeholder: "2024-01-01", autocomplete: "off", "data-path": `steps[${index}].headers[${i}].value` });
        key.addEventListener("input", () => { header.key = key.value; changed(); });
        value.addEventListener("input", () => { header.value = value.value; changed(); });
        return h(
          "div",
          { class: "row" },
          h("label", { for: key.id, class: "visually-hidden" }, `Header ${i + 1} key`),
          key,
          h("label", { for: value.id, class: "visually-hidden" }, `Header ${i + 1} value`),
          value,
          insertButton(value, `header ${i + 1} value`, refs),
          h("button", { type: "button", class: "icon danger", "aria-label": `Remove header ${i + 1}`, onclick: () => { step.headers.splice(i, 1); renderHeaders(); changed(); } }, "×"),
        );
      }),
    );
  };
  renderHeaders();
  const addHeader = h("button", { type: "button", onclick: () => { step.headers = step.headers ?? []; step.headers.push({ key: "", value: "" }); renderHeaders(); headerRows.querySelector(`#header-key-${step.headers.length - 1}`)?.focus(); changed(); } }, "Add header");

  const schema = jsonArea("step-schema", "Response Schema", step.response_schema, (result) => {
    invalid.delete("Response Schema");
    if (result.invalid !== undefined) invalid.add("Response Schema");
    else if (result.empty) delete step.response_schema;
    else step.response_schema = result.value;
    changed();
  }, { schema: true, rows: 6 });
  schema.area.dataset.path = `steps[${index}].response_schema`;

  const current = typeof step.secret === "string" ? SECRET_REF.exec(step.secret)?.[1] : undefined;
  const secret = h(
    "select",
    { id: "step-secret", "data-path": `steps[${index}].secret` },
    h("option", { value: "" }, "No signature"),
    secrets.map((s) => h("option", { value: s.name, selected: s.name === current }, s.name)),
    current && !secrets.some((s) => s.name === current) ? h("option", { value: current, selected: true }, `${current} (not stored)`) : null,
  );
  secret.addEventListener("change", () => {
    if (secret.value) step.secret = `{{ secrets.${secret.value} }}`;
    else delete step.secret;
    changed();
  });

  const intervalRows = h("div", { class: "rows" });
  const renderIntervals = () => {
    step.retry_intervals = step.retry_intervals ?? [];
    intervalRows.replaceChildren(
      ...step.retry_intervals.map((seconds, i) => {
        const input = h("input", { id: `retry-interval-${i}`, type: "number", min: 1, max: 604800, step: 1, value: seconds, "data-path": `steps[${index}].retry_intervals[${i}]` });
        input.addEventListener("input", () => { step.retry_intervals[i] = Number(input.value); changed(); });
        return h(
          "div",
          { class: "row" },
          h("label", { for: input.id }, `Retry ${i + 1} after (seconds)`),
          input,
          h("button", { type: "button", class: "icon danger", "aria-label": `Remove retry interval ${i + 1}`, onclick: () => { step.retry_intervals.splice(i, 1); renderIntervals(); changed(); } }, "×"),
        );
      }),
    );
    if (!step.retry_intervals.length) intervalRows.append(h("p", { class: "muted small" }, "No retries: a failed attempt fails the step."));
  };
  renderIntervals();
  const addInterval = h("button", { type: "button", onclick: () => { step.retry_intervals = step.retry_intervals ?? []; const last = step.retry_intervals.at(-1) ?? 5; step.retry_intervals.push(Math.min(last * 2, 604800)); renderIntervals(); intervalRows.querySelector(`#retry-interval-${step.retry_intervals.length - 1}`)?.focus(); changed(); } }, "Add interval");

  const timeout = h("input", { id: "step-timeout", type: "number", min: 1, max: 300, step: "any", value: step.timeout ?? 30, "data-path": `steps[${index}].timeout` });
  timeout.addEventListener("input", () => { step.timeout = Number(timeout.value); changed(); });

  const continueOnError = h("input", { id: "step-continue", type: "checkbox", checked: Boolean(step.continue_on_error), "data-path": `steps[${index}].continue_on_error` });
  continueOnError.addEventListener("change", () => {
    if (continueOnError.checked) step.continue_on_error = true;
    else delete step.continue_on_error;
    changed();
  });

  const sample = jsonArea("test-trigger", "Sample trigger data", {}, () => {}, { rows: 4 });
  const samples = index > 0 ? jsonArea("test-steps", "Sample outputs of earlier steps", Object.fromEntries(doc.steps.slice(0, index).map((s) => [s.id, { status: 200, headers: {}, body: {} }])), () => {}, { rows: 5 }) : null;
  const testResult = h("div", { class: "test-result", "aria-live": "polite" });
  const testButton = h("button", { type: "button", class: "primary" }, "Test step");
  testButton.addEventListener("click", () => {
    let trigger;
    let steps;
    try {
      trigger = sample.area.value.trim() ? JSON.parse(sample.area.value) : null;
      steps = samples && samples.area.value.trim() ? JSON.parse(samples.area.value) : {};
    } catch (error) {
      testResult.replaceChildren(h("p", { class: "banner banner-error", role: "alert" }, `Fix the sample data first: ${error.message}`));
      return;
    }
    onTest({ trigger, steps, result: testResult, button: testButton });
  });

  const panel = h(
    "aside",
    { class: "panel", "aria-labelledby": "panel-title" },
    h("div", { class: "panel-header" }, h("h2", { id: "panel-title" }, "Make HTTPS Request"), h("button", { type: "button", onclick: onClose }, "Close")),
    field("step-id", "Step ID", stepId),
    field("step-url", "URL", url, insertButton(url, "URL", refs)),
    field("step-method", "Request Type", method),
    bodyField,
    h("fieldset", { class: "field" }, h("legend", {}, "Request Headers"), headerRows, addHeader),
    field("step-schema", "Response Schema", schema.area, schema.check),
    h(
      "details",
      { class: "advanced", open: Boolean(step.secret || step.retry_intervals?.length || step.continue_on_error || (step.timeout && step.timeout !== 30)) },
      h("summary", {}, "Advanced Configuration"),
      field("step-secret", "Secret", secret),
      h("fieldset", { class: "field" }, h("legend", {}, "Retry Intervals"), intervalRows, addInterval),
      field("step-timeout", "Request Timeout (seconds)", timeout),
      h("div", { class: "field checkbox" }, continueOnError, h("label", { for: "step-continue" }, "Continue on error"), h("p", { class: "field-error", id: "step-continue-error", hidden: true })),
    ),
    h(
      "section",
      { class: "test", "aria-labelledby": "test-title" },
      h("h3", { id: "test-title" }, "Test step"),
      h("p", { class: "muted small" }, "Saves the draft, then makes one real attempt with this data. Nothing is recorded as a run."),
      field("test-trigger", "Sample trigger data", sample.area, sample.check),
      samples ? field("test-steps", "Sample outputs of earlier steps", samples.area, samples.check) : null,
      testButton,
      testResult,
    ),
    h("div", { class: "panel-footer" }, h("button", { type: "button", class: "danger", onclick: onRemove }, "Remove step"), h("button", { type: "button", onclick: onClose }, "Close")),
  );
  return { panel, invalid: () => [...invalid] };
}
