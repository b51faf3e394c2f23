// The workflow editor: the flow (trigger, steps, + between them), the step panel, Save, Publish.

import { api, ApiError } from "../api.js";
import { app, badge, banner, clear, h, when } from "../dom.js";
import { findAction } from "../editor/find-action.js";
import { jsonProblem, stepPanel } from "../editor/step-panel.js";

const root = app();
const workflowId = root.dataset.workflowId;
const messages = h("div", { class: "messages", "aria-live": "polite" });
const state = { workflow: null, doc: null, secrets: [], actions: [], open: null, problems: [], invalid: [], dirty: false, panel: null };

function say(kind, text, details = []) {
  clear(messages, banner(kind, text, details));
}

function summary(step) {
  return `${step.method ?? "POST"} ${step.url || "(no URL yet)"}`;
}

function stepProblems(index) {
  return state.problems.filter((p) => p.path.startsWith(`steps[${index}]`));
}

function uniqueId(base) {
  const taken = new Set(state.doc.steps.map((s) => s.id));
  let n = 1;
  while (taken.has(`${base}_${n}`)) n += 1;
  return `${base}_${n}`;
}

function addStep(position) {
  findAction(state.actions, (action) => {
    const step = { id: uniqueId("request"), action: action.name, url: "", method: "POST", body: {}, headers: [] };
    state.doc.steps.splice(position, 0, step);
    state.open = position;
    state.dirty = true;
    render();
    document.getElementById("step-url")?.focus();
  });
}

function connector(position) {
  return h(
    "div",
    { class: "connector" },
    h("button", { type: "button", class: "add-step", "aria-label": `Add a step at position ${position + 1}`, title: "Add a step", onclick: () => addStep(position) }, "+"),
  );
}

function triggerNode() {
  state.doc.trigger = state.doc.trigger ?? {};
  const trigger = state.doc.trigger;
  const event = h("input", { id: "trigger-event", value: trigger.event ?? "", placeholder: "inquiry.completed", autocomplete: "off", "data-path": "trigger.event" });
  event.addEventListener("input", () => {
    if (event.value.trim()) trigger.event = event.value.trim();
    else delete trigger.event;
    state.dirty = true;
  });
  const schema = h("textarea", { id: "trigger-schema", rows: 5, class: "code", spellcheck: "false", "data-path": "trigger.schema" });
  schema.value = trigger.schema === undefined ? "" : JSON.stringify(trigger.schema, null, 2);
  const check = h("p", { class: "json-check", "aria-live": "polite" });
  schema.addEventListener("input", () => {
    const problem = jsonProblem(schema.value, { schema: true });
    check.textContent = problem ? `Trigger Schema: ${problem}` : "";
    check.className = `json-check ${problem ? "bad" : "good"}`;
    state.invalid = state.invalid.filter((n) => n !== "Trigger Schema");
    if (problem) state.invalid.push("Trigger Schema");
    else if (schema.value.trim()) trigger.schema = JSON.parse(schema.value);
    else delete trigger.schema;
    state.dirty = true;
  });
  return h(
    "section",
    { class: "node trigger-node", "aria-label": "Trigger" },
    h("div", { class: "node-kind" }, "Trigger"),
    h("div", { class: "field" }, h("label", { for: "trigger-event" }, "Event name"), event, h("p", { class: "field-error", hidden: true })),
    h("details", { open: trigger.schema !== undefined }, h("summary", {}, "Trigger Schema"), h("div", { class: "field" }, h("label", { for: "trigger-schema" }, "Trigger Schema (JSON Schema of the payload)"), schema, check, h("p", { class: "field-error", hidden: true }))),
  );
}

function stepNode(step, index) {
  const problems = stepProblems(index).length;
  const action = state.actions.find((a) => a.name === step.action);
  return h(
    "button",
    {
      type: "button",
      class: `node step-node${state.open === index ? " selected" : ""}${problems ? " has-problems" : ""}`,
      "aria-label": `Step ${index + 1}: ${step.id}`,
      "aria-pressed": state.open === index ? "true" : "false",
      onclick: () => { state.open = index; render(); },
    },
    h("span", { class: "node-kind" }, action?.category ?? "Step", " · ", action?.title ?? step.action),
    h("span", { class: "node-title" }, step.id || "(no id)"),
    h("span", { class: "node-summary" }, summary(step)),
    problems ? h("span", { class: "badge status-errored" }, `${problems} problem${problems > 1 ? "s" : ""}`) : null,
  );
}

function showFieldErrors() {
  for (const element of root.querySelectorAll("[aria-invalid='true'][data-path]")) element.removeAttribute("aria-invalid");
  for (const error of root.querySelectorAll(".field-error")) { error.hidden = true; error.textContent = ""; }
  for (const problem of state.problems) {
    const target = [...root.querySelectorAll("[data-path]")].find((el) => el.dataset.path === problem.path)
      ?? [...root.querySelectorAll("[data-path]")].find((el) => problem.path.startsWith(`${el.dataset.path}`) && /^[.[]/.test(problem.path.slice(el.dataset.path.length)));
    if (!target) continue;
    target.setAttribute("aria-invalid", "true");
    const holder = target.closest(".field, .row");
    const error = holder?.querySelector(".field-error") ?? holder?.parentElement?.closest(".field")?.querySelector(".field-error");
    if (error) {
      error.hidden = false;
      error.textContent = error.textContent ? `${error.textContent}; ${problem.message}` : problem.message;
      if (!target.getAttribute("aria-describedby")?.includes(error.id) && error.id) target.setAttribute("aria-describedby", error.id);
    }
  }
}

function header() {
  const name = h("input", { id: "workflow-name", class: "title-input", value: state.doc.name ?? "", maxlength: 200, "data-path": "name" });
  name.addEventListener("input", () => { state.doc.name = name.value; state.dirty = true; });
  const wf = state.workflow;
  const version = [
    wf.live_version ? `live: v${wf.live_version.number}` : "not published",
    wf.draft_version ? `draft: v${wf.draft_version.number}` : null,
  ].filter(Boolean).join(" · ");
  return h(
    "div",
    { class: "page-header editor-header" },
    h("div", { class: "title" }, h("label", { for: "workflow-name", class: "visually-hidden" }, "Workflow name"), name, badge(wf.status), h("span", { class: "muted small" }, version)),
    h(
      "div",
      { class: "actions" },
      h("a", { class: "button", href: `/runs?workflow_id=${wf.id}` }, "Runs"),
      wf.status === "archived"
        ? h("button", { type: "button", onclick: () => archive(false) }, "Unarchive")
        : h("button", { type: "button", onclick: () => archive(true) }, "Archive"),
      h("button", { type: "button", onclick: save }, "Save"),
      h("button", { type: "button", class: "primary", onclick: publish }, "Publish"),
    ),
  );
}

function render() {
  const flow = h(
    "section",
    { class: "flow", "aria-label": "Flow" },
    triggerNode(),
    connector(0),
    state.doc.steps.map((step, i) => [stepNode(step, i), connector(i + 1)]),
    state.doc.steps.length ? null : h("p", { class: "muted center" }, "Add the first step with +."),
  );
  let panel = null;
  state.panel = null;
  if (state.open !== null && state.doc.steps[state.open]) {
    const built = stepPanel({
      doc: state.doc,
      index: state.open,
      secrets: state.secrets,
      onChange: ({ invalid }) => {
        state.dirty = true;
        state.stepInvalid = invalid;
        const node = root.querySelector(`.step-node[aria-label^="Step ${state.open + 1}:"]`);
        const step = state.doc.steps[state.open];
        if (node) {
          node.querySelector(".node-summary").textContent = summary(step);
          node.querySelector(".node-title").textContent = step.id || "(no id)";
          node.setAttribute("aria-label", `Step ${state.open + 1}: ${step.id}`);
        }
      },
      onClose: () => { state.open = null; render(); },
      onRemove: () => { state.doc.steps.splice(state.open, 1); state.open = null; state.dirty = true; render(); },
      onTest: runTest,
    });
    panel = built.panel;
    state.panel = built;
  }
  clear(root, header(), messages, h("div", { class: `editor${panel ? " with-panel" : ""}` }, flow, panel), history());
  showFieldErrors();
}

function history() {
  const list = h("div", { class: "history-list" }, h("p", { class: "muted small" }, "Loading…"));
  const details = h("details", { class: "card history" }, h("summary", {}, "Version history"), list);
  details.addEventListener("toggle", async () => {
    if (!details.open) return;
    try {
      const versions = await api("GET", `/v1/workflows/${workflowId}/versions`);
      clear(
        list,
        h(
          "table",
          { class: "table compact" },
          h("thead", {}, h("tr", {}, ["Version", "State", "Saved", "Published", "By (API key)"].map((t) => h("th", { scope: "col" }, t)))),
          h(
            "tbody",
            {},
            versions.map((v) =>
              h(
                "tr",
                {},
                h("td", {}, `v${v.number}`, v.live ? " " : "", v.live ? badge("live") : null),
                h("td", {}, v.state),
                h("td", {}, when(v.updated_at)),
                h("td", {}, when(v.published_at)),
                h("td", {}, h("code", {}, v.published_by ?? v.updated_by ?? "—")),
              ),
            ),
          ),
        ),
      );
    } catch (error) {
      clear(list, banner("error", error.message));
    }
  });
  return details;
}

function invalidFields() {
  return [...state.invalid, ...(state.panel ? state.panel.invalid() : [])];
}

async function save({ quiet = false } = {}) {
  const invalid = invalidFields();
  if (invalid.length) {
    say("error", `Fix ${invalid.join(" and ")} first: it is not valid JSON.`);
    return null;
  }
  try {
    const draft = await api("PUT", `/v1/workflows/${workflowId}/draft`, { document: state.doc });
    state.problems = draft.problems;
    state.dirty = false;
    state.workflow = await api("GET", `/v1/workflows/${workflowId}`);
    if (!quiet) {
      if (draft.problems.length) say("warning", `Draft v${draft.number} saved. Before it can be published, fix:`, draft.problems);
      else say("ok", `Draft v${draft.number} saved. Ready to publish.`);
    }
    const open = state.open;
    render();
    state.open = open;
    return draft;
  } catch (error) {
    say("error", error.message, error instanceof ApiError ? error.details : []);
    return null;
  }
}

async function publish() {
  if (!(await save({ quiet: true }))) return;
  try {
    const version = await api("POST", `/v1/workflows/${workflowId}/publish`);
    state.problems = [];
    state.workflow = await api("GET", `/v1/workflows/${workflowId}`);
    render();
    say("ok", `Published version ${version.number}. New runs use it; runs already started keep their version.`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 422) {
      state.problems = error.details;
      render();
    }
    say("error", error.message, error instanceof ApiError ? error.details : []);
  }
}

async function archive(archived) {
  try {
    state.workflow = await api("POST", `/v1/workflows/${workflowId}/${archived ? "archive" : "unarchive"}`);
    render();
    say("ok", archived ? "Archived: it starts no more runs (runs in progress finish)." : "Unarchived: its live version starts runs again.");
  } catch (error) {
    say("error", error.message, error instanceof ApiError ? error.details : []);
  }
}

function pairs(headers) {
  return h("table", { class: "table compact" }, h("tbody", {}, headers.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, h("code", {}, v))))));
}

function showAttempt(out, result) {
  const parts = [
    h("p", {}, badge(result.outcome), ` in ${result.duration_ms} ms`, result.error ? ` · ${result.error.type}: ${result.error.message}` : ""),
  ];
  if (result.request) {
    parts.push(h("h4", {}, "Request as sent (secrets redacted)"), h("p", {}, h("code", {}, `${result.request.method} ${result.request.url}`)), pairs(result.request.headers), result.request.body ? h("pre", { class: "code" }, result.request.body) : null);
  }
  if (result.response) {
    parts.push(h("h4", {}, `Response: ${result.response.status}`), pairs(result.response.headers), h("pre", { class: "code" }, result.response.body || "(empty)"));
  }
  if (result.outcome !== "succeeded") {
    parts.push(h("p", { class: "muted small" }, result.retryable ? "A run would retry this failure on its schedule." : "A run would not retry this failure."));
  }
  clear(out, parts);
}

async function runTest({ trigger, steps, result, button }) {
  button.disabled = true;
  clear(result, h("p", { class: "loading", role: "status" }, "Testing…"));
  try {
    const saved = await save({ quiet: true });
    if (!saved) return clear(result);
    const stepId = state.doc.steps[state.open]?.id;
    const out = await api("POST", `/v1/workflows/${workflowId}/steps/${encodeURIComponent(stepId)}/test`, { trigger, steps });
    const target = document.querySelector(".test-result") ?? result;
    showAttempt(target, out);
  } catch (error) {
    const target = document.querySelector(".test-result") ?? result;
    clear(target, banner("error", error.message, error instanceof ApiError ? error.details : []));
    if (error instanceof ApiError && error.status === 422) {
      state.problems = error.details;
      showFieldErrors();
    }
  } finally {
    const current = document.querySelector(".test .primary");
    if (current) current.disabled = false;
    button.disabled = false;
  }
}

async function load() {
  const [workflow, secrets, actions] = await Promise.all([
    api("GET", `/v1/workflows/${workflowId}`),
    api("GET", "/v1/secrets"),
    api("GET", "/v1/actions"),
  ]);
  // Edit the draft; with none (just published), the next save starts one from the live version.
  const version = await api("GET", `/v1/workflows/${workflowId}/versions/${workflow.draft_version ? "draft" : "live"}`);
  Object.assign(state, { workflow, secrets, actions, doc: structuredClone(version.document), problems: version.problems ?? [] });
  state.doc.steps = Array.isArray(state.doc.steps) ? state.doc.steps : [];
  render();
  if (state.problems.length) say("warning", "This draft has problems to fix before it can be published:", state.problems);
}

window.addEventListener("beforeunload", (event) => {
  if (state.dirty) event.preventDefault();
});

load().catch((error) => clear(root, banner("error", `Could not load the workflow: ${error.message}`)));
