// The workflow editor: the flow (trigger, steps, + between them), the step panel, Save,
// Publish, Run. Saving redraws the header and the flow but never the open step panel, so
// what is typed, scrolled to and tested there stays where it is.

import { api, ApiError } from "../api.js";
import { workflowActivity } from "../charts/activity.js";
import { app, badge, clear, h, when } from "../dom.js";
import { curlReport, fillFromCurl } from "../editor/curl-paste.js";
import { findAction } from "../editor/find-action.js";
import { errorNotice, notice, plainProblem } from "../messages.js";
import { openRunDialog } from "../editor/run-dialog.js";
import { keepSample, sampleOf } from "../editor/samples.js";
import { stepPanel } from "../editor/step-panel.js";
import { triggerNode } from "../editor/trigger-node.js";

const root = app();
const workflowId = root.dataset.workflowId;
const messages = h("div", { class: "messages", "aria-live": "polite" });
const state = {
  workflow: null, doc: null, secrets: [], actions: [], open: null, problems: [], triggerInvalid: false, dirty: false, edits: 0,
  panel: null, trigger: null, building: false, showingProblems: false,
  samples: { trigger: sampleOf(workflowId), steps: {} }, // texts, kept across redraws
};
const slots = { header: null, flow: null, panel: null, editor: null };

// An edit not saved yet. Counted, so a save answered after more typing still leaves it unsaved.
function touched() {
  state.dirty = true;
  state.edits += 1;
}

function say(node, { problems = false } = {}) {
  state.showingProblems = problems;
  clear(messages, node);
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

function showProblemsBanner(lead) {
  const problems = state.problems;
  say(notice("warning", {
    what: lead ?? `This draft has ${problems.length === 1 ? "a problem" : `${problems.length} problems`} to fix before it can be published:`,
    problems: problems.map((p) => plainProblem(p, state.doc)),
    todo: "The fields are marked in red. Save to check again.",
    detail: problems.map((p) => `${p.path}: ${p.message}`),
  }), { problems: true });
}

function addStep(position) {
  findAction(state.actions, async (action) => {
    const step = { id: uniqueId("request"), action: action.name, url: "", method: "POST", body: {}, headers: [] };
    state.doc.steps.splice(position, 0, step);
    state.samples.steps = {};
    state.open = position;
    touched();
    render();
    document.getElementById("step-url")?.focus();
    // The problems listed were those of the draft before this step: ask again.
    if (!state.triggerInvalid && !(state.panel?.invalid().length)) await save({ quiet: true });
  });
}

function connector(position) {
  return h(
    "div",
    { class: "connector" },
    h("button", { type: "button", class: "add-step", "aria-label": `Add a step at position ${position + 1}`, title: "Add a step", onclick: () => addStep(position) }, "+"),
  );
}

function keepTriggerSample(text) {
  state.samples.trigger = text;
  keepSample(workflowId, text);
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

function runnable() {
  return Boolean(state.workflow.live_version) && state.workflow.status === "published";
}

function header() {
  const name = h("input", { id: "workflow-name", class: "title-input", value: state.doc.name ?? "", maxlength: 200, "data-path": "name" });
  name.addEventListener("input", () => { state.doc.name = name.value; touched(); });
  const wf = state.workflow;
  const version = [
    wf.live_version ? `live: v${wf.live_version.number}` : "not published",
    wf.draft_version ? `draft: v${wf.draft_version.number}` : null,
  ].filter(Boolean).join(" · ");
  const run = () => openRunDialog({
    workflowId,
    name: wf.name,
    // The run page replaces this one: keep unsaved changes in the draft first.
    beforeLeave: async () => { if (state.dirty) await save({ quiet: true }); },
  });
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
      h("button", { type: "button", onclick: () => save() }, "Save"),
      h("button", { type: "button", class: "primary", onclick: publish }, "Publish"),
      runnable() ? h("button", { type: "button", class: "run", onclick: run, title: `Start a run of live version ${wf.live_version.number}` }, "Run") : null,
    ),
  );
}

function flow() {
  state.triggerInvalid = false; // the trigger is drawn again from the document's valid schema
  state.trigger = triggerNode({
    doc: state.doc,
    sample: state.samples.trigger,
    onSample: (text) => { keepTriggerSample(text); state.panel?.setSample(text); },
    onChange: () => { touched(); },
    onInvalid: (invalid) => { state.triggerInvalid = invalid; },
  });
  return h(
    "section",
    { class: "flow", "aria-label": "Flow" },
    state.trigger.node,
    connector(0),
    state.doc.steps.map((step, i) => [stepNode(step, i), connector(i + 1)]),
    state.doc.steps.length ? null : h("p", { class: "muted center" }, "Add the first step with +."),
  );
}

function panel(report) {
  state.panel = null;
  if (state.open === null || !state.doc.steps[state.open]) return null;
  state.building = true;
  state.panel = stepPanel({
    doc: state.doc,
    index: state.open,
    secrets: state.secrets,
    samples: { trigger: state.samples.trigger, steps: state.samples.steps[state.open] },
    onSample: ({ trigger, steps }) => {
      if (trigger !== undefined) { keepTriggerSample(trigger); state.trigger?.setSample(trigger); }
      if (steps !== undefined) state.samples.steps[state.open] = steps;
    },
    onChange: () => {
      if (state.building) return;
      touched();
      const node = root.querySelector(`.step-node[aria-label^="Step ${state.open + 1}:"]`);
      const step = state.doc.steps[state.open];
      if (node) {
        node.querySelector(".node-summary").textContent = summary(step);
        node.querySelector(".node-title").textContent = step.id || "(no id)";
        node.setAttribute("aria-label", `Step ${state.open + 1}: ${step.id}`);
      }
    },
    onClose: () => { state.open = null; render(); },
    onRemove: () => { state.doc.steps.splice(state.open, 1); state.open = null; state.samples.steps = {}; touched(); render(); },
    onTest: runTest,
    onImported: (answer) => {
      fillFromCurl(state.doc.steps[state.open], answer.step);
      touched();
      mountPanel(curlReport(answer, state.secrets));
      refresh();
    },
    curlReport: report,
  });
  state.building = false;
  return state.panel.panel;
}

// Everything drawn again (on load, and when another step is opened or closed).
function render() {
  slots.header = header();
  slots.flow = flow();
  slots.panel = panel();
  slots.editor = h("div", { class: `editor${slots.panel ? " with-panel" : ""}` }, slots.flow, slots.panel);
  clear(root, slots.header, messages, slots.editor, workflowActivity(workflowId), history());
  showFieldErrors();
}

// The header and the flow drawn again in place; the open panel is left as it is.
function refresh() {
  const fresh = header();
  slots.header.replaceWith(fresh);
  slots.header = fresh;
  const flowNow = flow();
  slots.flow.replaceWith(flowNow);
  slots.flow = flowNow;
  showFieldErrors();
}

// The open panel drawn again (its step was replaced by a cURL import).
function mountPanel(report) {
  const fresh = panel(report);
  if (slots.panel && fresh) slots.panel.replaceWith(fresh);
  slots.panel = fresh;
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
      clear(list, errorNotice(error, state.doc));
    }
  });
  return details;
}

function invalidFields() {
  return [...(state.triggerInvalid ? ["Trigger Schema"] : []), ...(state.panel ? state.panel.invalid() : [])];
}

// Save the draft; the banner and the fields then show the problems the server found now.
// Returns the draft, or null with `state.unsaved` saying why not.
async function save({ quiet = false } = {}) {
  const invalid = invalidFields();
  if (invalid.length) {
    state.unsaved = notice("error", { what: `Not saved: ${invalid.join(" and ")} ${invalid.length > 1 ? "are" : "is"} not valid JSON.`, todo: "Fix the field marked in red, then try again." });
    say(state.unsaved);
    return null;
  }
  try {
    const sent = state.edits;
    const draft = await api("PUT", `/v1/workflows/${workflowId}/draft`, { document: state.doc });
    state.problems = draft.problems;
    state.dirty = state.edits !== sent;
    state.workflow = await api("GET", `/v1/workflows/${workflowId}`);
    refresh();
    if (!quiet) {
      if (draft.problems.length) showProblemsBanner(`Draft v${draft.number} saved. Before it can be published, fix:`);
      else say(notice("ok", { what: `Draft v${draft.number} saved. Ready to publish.` }));
    } else if (draft.problems.length) {
      showProblemsBanner();
    } else if (state.showingProblems) {
      say(notice("ok", { what: `Draft v${draft.number} saved: no problems left, ready to publish.` }));
    }
    return draft;
  } catch (error) {
    state.unsaved = errorNotice(error, state.doc);
    say(state.unsaved);
    return null;
  }
}

async function publish() {
  if (!(await save({ quiet: true }))) return;
  try {
    const version = await api("POST", `/v1/workflows/${workflowId}/publish`);
    state.problems = [];
    state.workflow = await api("GET", `/v1/workflows/${workflowId}`);
    refresh();
    say(notice("ok", { what: `Published version ${version.number}. New runs use it; runs already started keep their version.`, todo: "Press Run to start one now." }));
  } catch (error) {
    if (error instanceof ApiError && error.status === 422) {
      state.problems = error.details;
      refresh();
    }
    say(errorNotice(error, state.doc));
  }
}

async function archive(archived) {
  try {
    state.workflow = await api("POST", `/v1/workflows/${workflowId}/${archived ? "archive" : "unarchive"}`);
    refresh();
    say(notice("ok", { what: archived ? "Archived: it starts no more runs (runs in progress finish)." : "Unarchived: its live version starts runs again." }));
  } catch (error) {
    say(errorNotice(error, state.doc));
  }
}

async function runTest({ trigger, steps, button }) {
  const tested = state.panel;
  button.disabled = true;
  tested.testing();
  try {
    const saved = await save({ quiet: true });
    if (!saved) {
      tested.showProblem(state.unsaved);
      return;
    }
    const stepId = state.doc.steps[state.open]?.id;
    const out = await api("POST", `/v1/workflows/${workflowId}/steps/${encodeURIComponent(stepId)}/test`, { trigger, steps });
    tested.showResult(out);
  } catch (error) {
    tested.showProblem(errorNotice(error, state.doc));
    if (error instanceof ApiError && error.status === 422) {
      state.problems = error.details;
      showFieldErrors();
    }
  } finally {
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
  if (state.problems.length) showProblemsBanner();
}

window.addEventListener("beforeunload", (event) => {
  if (state.dirty) event.preventDefault();
});

load().catch((error) => clear(root, notice("error", { what: "The workflow could not be loaded.", todo: "Reload the page; if it still fails, go back to the workflows.", detail: [error.status ? `HTTP ${error.status} ${error.code}: ${error.message}` : String(error.message ?? error)] })));
