// The step panel of Make HTTPS Request: every field of the step, checked as you type, and
// Test step, which keeps its sample data and brings its result into view.

import { h } from "../dom.js";
import { authField } from "./auth-fields.js";
import { curlPaste } from "./curl-paste.js";
import { field, jsonArea, pairRows } from "./fields.js";
import { insertButton } from "./insert-menu.js";
import { referenceGroups } from "./references.js";
import { bodyField, clientCertificateField, followRedirectsField, queryField } from "./request-fields.js";
import { secretPicker } from "./secret-picker.js";
import { showAttempt } from "./test-result.js";

export { jsonProblem } from "./fields.js";
export const METHODS = ["DELETE", "GET", "PATCH", "POST", "PUT"];

function earlierOutputs(doc, index) {
  return JSON.stringify(Object.fromEntries(doc.steps.slice(0, index).map((s) => [s.id, { status: 200, headers: {}, body: {} }])), null, 2);
}

function retryIntervals({ step, index, changed }) {
  const intervalRows = h("div", { class: "rows" });
  const renderIntervals = () => {
    step.retry_intervals = step.retry_intervals ?? [];
    intervalRows.replaceChildren(
      ...step.retry_intervals.map((seconds, i) => {
        const input = h("input", { id: `retry-interval-${i}`, type: "number", min: 1, max: 604800, step: 1, value: seconds, "data-path": `steps[${index}].retry_intervals[${i}]` });
        input.addEventListener("input", () => { step.retry_intervals[i] = Number(input.value); changed(); });
        return h(
          "div",
          { class: "row interval-row" },
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
  return h("fieldset", { class: "field" }, h("legend", {}, "Retry Intervals"), intervalRows, addInterval);
}

// `samples`: {trigger, steps} texts kept by the editor across redraws; `onSample` keeps them.
export function stepPanel({ doc, index, secrets, samples, onSample, onChange, onClose, onRemove, onTest, onImported, curlReport }) {
  const step = doc.steps[index];
  const refs = () => referenceGroups(doc, index, secrets);
  const invalid = new Set();
  const changed = () => onChange({ invalid: [...invalid] });

  const stepId = h("input", { id: "step-id", value: step.id ?? "", maxlength: 64, pattern: "[a-z][a-z0-9_]*", autocomplete: "off", "data-path": `steps[${index}].id` });
  stepId.addEventListener("input", () => { step.id = stepId.value; changed(); });

  const url = h("input", { id: "step-url", value: step.url ?? "", placeholder: "https://api.example.com/users", autocomplete: "off", "data-path": `steps[${index}].url` });
  url.addEventListener("input", () => { step.url = url.value; changed(); });

  const method = h("select", { id: "step-method", "data-path": `steps[${index}].method` }, METHODS.map((m) => h("option", { value: m, selected: (step.method ?? "POST") === m }, m)));
  const body = bodyField({ step, index, refs, changed, invalid });
  method.addEventListener("change", () => {
    step.method = method.value;
    body.apply();
  });

  const headers = pairRows({
    read: () => step.headers,
    write: (list) => { step.headers = list; },
    idPrefix: "header",
    noun: "Header",
    path: `steps[${index}].headers`,
    keyPlaceholder: "X-Api-Version",
    valuePlaceholder: "2024-01-01",
    refs,
    changed,
    addLabel: "Add header",
  });

  const schema = jsonArea("step-schema", "Response Schema", step.response_schema, (result) => {
    invalid.delete("Response Schema");
    if (result.invalid !== undefined) invalid.add("Response Schema");
    else if (result.empty) delete step.response_schema;
    else step.response_schema = result.value;
    changed();
  }, { schema: true, rows: 6, placeholder: '{"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}' });
  schema.area.dataset.path = `steps[${index}].response_schema`;
  const useSchema = (made) => {
    schema.area.value = JSON.stringify(made, null, 2);
    schema.area.dispatchEvent(new Event("input", { bubbles: true }));
  };

  const secret = secretPicker({
    id: "step-secret",
    path: `steps[${index}].secret`,
    value: step.secret,
    secrets,
    none: "No signature",
    kind: "text",
    onChange: (reference) => {
      if (reference) step.secret = reference;
      else delete step.secret;
      changed();
    },
  });

  const timeout = h("input", { id: "step-timeout", type: "number", min: 1, max: 300, step: "any", value: step.timeout ?? 30, "data-path": `steps[${index}].timeout` });
  timeout.addEventListener("input", () => { step.timeout = Number(timeout.value); changed(); });

  const continueOnError = h("input", { id: "step-continue", type: "checkbox", checked: Boolean(step.continue_on_error), "data-path": `steps[${index}].continue_on_error` });
  continueOnError.addEventListener("change", () => {
    if (continueOnError.checked) step.continue_on_error = true;
    else delete step.continue_on_error;
    changed();
  });

  const sample = jsonArea("test-trigger", "Sample trigger data", samples.trigger ?? "{}", (_, text) => onSample({ trigger: text }), { rows: 4, text: true });
  const outputs = index > 0
    ? jsonArea("test-steps", "Sample outputs of earlier steps", samples.steps ?? earlierOutputs(doc, index), (_, text) => onSample({ steps: text }), { rows: 5, text: true })
    : null;
  const testResult = h("div", { class: "test-result", "aria-live": "polite", tabindex: "-1" });
  const testButton = h("button", { type: "button", class: "primary" }, "Test step");
  const reveal = () => {
    testResult.scrollIntoView({ block: "nearest" });
    // The sticky top bar covers the window's top edge (one to three lines high, by width):
    // a result scrolled there would have its outcome under it.
    const bar = document.querySelector(".topbar")?.getBoundingClientRect().bottom ?? 0;
    const top = testResult.getBoundingClientRect().top;
    if (top < bar + 8) window.scrollBy(0, top - bar - 8);
    testResult.focus({ preventScroll: true });
  };
  testButton.addEventListener("click", () => {
    let trigger;
    let steps;
    try {
      trigger = sample.area.value.trim() ? JSON.parse(sample.area.value) : null;
      steps = outputs && outputs.area.value.trim() ? JSON.parse(outputs.area.value) : {};
    } catch (error) {
      testResult.replaceChildren(h("div", { class: "banner banner-error", role: "alert" },
        h("p", {}, "Fix the sample data first: it is not valid JSON."),
        h("details", { class: "technical" }, h("summary", {}, "Technical detail"), h("p", {}, h("code", {}, error.message)))));
      reveal();
      return;
    }
    onTest({ trigger, steps, button: testButton });
  });

  const advancedOpen = Boolean(step.secret || step.retry_intervals?.length || step.continue_on_error || (step.timeout && step.timeout !== 30) || step.client_certificate || step.follow_redirects);
  const panel = h(
    "aside",
    { class: "panel", "aria-labelledby": "panel-title" },
    h("div", { class: "panel-header" }, h("h2", { id: "panel-title" }, "Make HTTPS Request"), h("button", { type: "button", onclick: onClose }, "Close")),
    field("step-id", "Step ID", stepId),
    curlPaste({ doc, onImported, report: curlReport }),
    field("step-url", "URL", url, insertButton(url, "URL", refs)),
    field("step-method", "Request Type", method),
    queryField({ step, index, refs, changed }),
    body.section,
    h("fieldset", { class: "field" }, h("legend", {}, "Request Headers"), headers.rows, headers.add, h("p", { class: "field-error", id: "step-headers-error", hidden: true })),
    authField({ step, index, secrets, refs, changed }),
    field("step-schema", "Response Schema", schema.area, schema.check),
    h(
      "details",
      { class: "advanced", open: advancedOpen },
      h("summary", {}, "Advanced Configuration"),
      field("step-secret", "Secret", secret),
      clientCertificateField({ step, index, secrets, changed }),
      followRedirectsField({ step, index, changed }),
      retryIntervals({ step, index, changed }),
      field("step-timeout", "Request Timeout (seconds)", timeout),
      h("div", { class: "field checkbox" }, continueOnError, h("label", { for: "step-continue" }, "Continue on error"), h("p", { class: "field-error", id: "step-continue-error", hidden: true })),
    ),
    h(
      "section",
      { class: "test", "aria-labelledby": "test-title" },
      h("h3", { id: "test-title" }, "Test step"),
      h("p", { class: "muted small" }, "Saves the draft, then makes one real attempt with this data. Nothing is recorded as a run."),
      field("test-trigger", "Sample trigger data", sample.area, sample.check),
      outputs ? field("test-steps", "Sample outputs of earlier steps", outputs.area, outputs.check) : null,
      testButton,
      testResult,
    ),
    h("div", { class: "panel-footer" }, h("button", { type: "button", class: "danger", onclick: onRemove }, "Remove step"), h("button", { type: "button", onclick: onClose }, "Close")),
  );
  return {
    panel,
    invalid: () => [...invalid],
    testing: () => { testResult.replaceChildren(h("p", { class: "loading", role: "status" }, "Testing…")); },
    showResult: (out) => { showAttempt(testResult, out, { useSchema, retries: step.retry_intervals?.length ?? 0 }); reveal(); },
    showProblem: (node) => { testResult.replaceChildren(node); reveal(); },
    setSample: (text) => { if (document.activeElement !== sample.area) { sample.area.value = text; sample.area.dispatchEvent(new Event("input")); } },
  };
}
