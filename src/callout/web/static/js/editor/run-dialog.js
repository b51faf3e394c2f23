// Run from the dashboard: a payload editor for a published workflow, prefilled from the last
// sample (or the last run's payload, or an example made from the Trigger Schema), checked as
// you type, that starts a run through POST /v1/workflows/{id}/trigger and opens its page.
//
// The Idempotency-Key is made in the browser for one payload text: pressing Start run again
// after a lost answer sends the same key, so the server answers the first run instead of
// starting a second; changing the payload makes a new key.

import { api } from "../api.js";
import { h, when } from "../dom.js";
import { errorNotice, notice } from "../messages.js";
import { payloadProblems } from "./payload-check.js";
import { exampleFromSchema } from "./sample-from-schema.js";
import { keepSample, sampleOf } from "./samples.js";

function newKey() {
  // crypto.getRandomValues works on plain-http deployments too (randomUUID needs https).
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `dash_${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function parses(text) {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

async function lastRunPayload(workflowId) {
  const runs = await api("GET", `/v1/runs?workflow_id=${encodeURIComponent(workflowId)}&limit=1`);
  const last = runs.data[0];
  if (!last) return null;
  const found = await api("GET", `/v1/runs/${last.id}/trigger`);
  return { payload: found.trigger, at: last.created_at };
}

// The first text to show, and where it came from.
async function prefill(workflowId, schema) {
  const sample = sampleOf(workflowId);
  if (sample && parses(sample)) return { text: sample, source: "the sample trigger data you last used with this workflow" };
  const last = await lastRunPayload(workflowId).catch(() => null);
  if (last && last.payload !== null) return { text: JSON.stringify(last.payload, null, 2), source: `the payload of the last run (${when(last.at)})` };
  if (schema) return { text: JSON.stringify(exampleFromSchema(schema), null, 2), source: "an example made from the Trigger Schema: fill in real values" };
  return { text: "{}", source: "an empty payload: this workflow has no Trigger Schema, so any JSON is accepted" };
}

function startRun(workflowId, payload, key) {
  return api("POST", `/v1/workflows/${workflowId}/trigger`, { payload }, { headers: { "Idempotency-Key": key } });
}

// `beforeLeave`: awaited before the run page opens (the editor saves unsaved changes there).
export async function openRunDialog({ workflowId, name, beforeLeave }) {
  const area = h("textarea", { id: "run-payload", rows: 12, class: "code", spellcheck: "false", "aria-describedby": "run-payload-check run-payload-source" });
  const check = h("p", { id: "run-payload-check", class: "json-check", "aria-live": "polite" });
  const source = h("p", { id: "run-payload-source", class: "muted small" }, "Loading the live version…");
  const out = h("div", { class: "run-out", "aria-live": "polite" });
  const start = h("button", { type: "submit", class: "primary", disabled: true }, "Start run");
  const fromSchema = h("button", { type: "button", hidden: true }, "Make from the schema");
  const form = h(
    "form",
    { method: "dialog" },
    h("label", { for: "run-payload" }, "Trigger payload (JSON)"),
    area,
    check,
    source,
    out,
    h("div", { class: "dialog-actions" }, fromSchema, h("button", { type: "button", value: "cancel", onclick: () => dialog.close() }, "Cancel"), start),
  );
  const dialog = h(
    "dialog",
    { class: "run-dialog", "aria-labelledby": "run-dialog-title" },
    h("h2", { id: "run-dialog-title" }, `Run ${name}`),
    h("p", { class: "muted small", id: "run-dialog-what" }, "Starts a run of the published version with this payload, as a trigger through the API would."),
    form,
  );
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();

  let schema = null;
  let key = null;
  let keyedText = null;

  const update = () => {
    let value;
    try {
      value = JSON.parse(area.value);
    } catch (error) {
      area.setAttribute("aria-invalid", "true");
      check.className = "json-check bad";
      check.textContent = `Not valid JSON yet: ${error.message}`;
      start.disabled = true;
      return;
    }
    start.disabled = false;
    const problems = payloadProblems(schema, value);
    area.setAttribute("aria-invalid", problems.length ? "true" : "false");
    check.className = `json-check ${problems.length ? "bad" : "good"}`;
    check.textContent = problems.length
      ? `Does not match the Trigger Schema: ${problems.join("; ")}.`
      : schema ? "Valid JSON that fits the Trigger Schema's types and required fields; the server checks every rule when the run starts." : "Valid JSON.";
  };
  area.addEventListener("input", update);
  fromSchema.addEventListener("click", () => {
    area.value = JSON.stringify(exampleFromSchema(schema), null, 2);
    source.textContent = "Made from the Trigger Schema: fill in real values.";
    update();
    area.focus();
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let payload;
    try {
      payload = JSON.parse(area.value);
    } catch {
      return update();
    }
    if (keyedText !== area.value) {
      key = newKey();
      keyedText = area.value;
    }
    start.disabled = true;
    out.replaceChildren(h("p", { class: "loading", role: "status" }, "Starting the run…"));
    try {
      const started = await startRun(workflowId, payload, key);
      keepSample(workflowId, area.value);
      out.replaceChildren(notice("ok", { what: "Run started. Opening it…" }));
      if (beforeLeave) await beforeLeave();
      window.location.assign(`/runs/${started.run_id}`);
    } catch (error) {
      out.replaceChildren(errorNotice(error));
      start.disabled = false;
    }
  });

  try {
    const live = await api("GET", `/v1/workflows/${workflowId}/versions/live`);
    schema = live.document?.trigger?.schema ?? null;
    fromSchema.hidden = !schema;
    const filled = await prefill(workflowId, schema);
    area.value = filled.text;
    source.textContent = `Prefilled from ${filled.source}. Runs version ${live.number}.`;
    update();
    area.focus();
  } catch (error) {
    source.textContent = "";
    out.replaceChildren(errorNotice(error));
  }
  return dialog;
}
