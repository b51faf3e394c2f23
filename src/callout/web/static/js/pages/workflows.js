// Workflows > All Workflows: the list, with status, live version, last run; Create.

import { api, ApiError } from "../api.js";
import { activityCell } from "../charts/activity.js";
import { ago, app, badge, banner, clear, emptyState, h, labelledCell, pageHeader } from "../dom.js";
import { openRunDialog } from "../editor/run-dialog.js";

const root = app();

function createForm() {
  const name = h("input", { id: "new-workflow-name", required: true, maxlength: 200, placeholder: "Create the user in our CRM" });
  const message = h("div");
  const form = h(
    "form",
    { class: "card inline-form", "aria-label": "Create a workflow" },
    h("label", { for: "new-workflow-name" }, "Workflow name"),
    name,
    h("button", { type: "submit", class: "primary" }, "Create workflow"),
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const created = await api("POST", "/v1/workflows", {
        document: { name: name.value.trim() || "Untitled workflow", trigger: {}, steps: [] },
      });
      window.location.assign(`/workflows/${created.workflow.id}`);
    } catch (error) {
      clear(message, banner("error", error.message, error instanceof ApiError ? error.details : []));
    }
  });
  return form;
}

const COLUMNS = ["Name", "Status", "Live version", "Starts on", "Last run", "Last 24 hours"];

function row(workflow, activity) {
  const last = workflow.last_run;
  return h(
    "tr",
    {},
    h("td", { class: "cell-title" }, h("a", { href: `/workflows/${workflow.id}` }, workflow.name)),
    labelledCell("Status", {}, badge(workflow.status)),
    labelledCell("Live version", {}, workflow.live_version ? `v${workflow.live_version.number}` : "—"),
    labelledCell("Starts on", {}, workflow.event ? h("code", {}, workflow.event) : h("span", { class: "muted" }, "API only")),
    labelledCell("Last run", {}, last ? h("a", { href: `/runs/${last.id}` }, badge(last.status), " ", ago(last.created_at)) : h("span", { class: "muted" }, "no runs yet")),
    labelledCell("Last 24 hours", { class: "cell-wide" }, activityCell(activity)),
    h("td", { class: "row-actions" }, workflow.live_version && workflow.status === "published"
      ? h("button", { type: "button", "aria-label": `Run ${workflow.name}`, onclick: () => openRunDialog({ workflowId: workflow.id, name: workflow.name }) }, "Run")
      : null),
  );
}

async function render() {
  // The activity of every workflow in one call; the list still shows if it fails.
  const [page, activity] = await Promise.all([api("GET", "/v1/workflows?limit=200"), api("GET", "/v1/workflow-activity?hours=24").catch(() => ({ data: [] }))]);
  const activityOf = new Map(activity.data.map((a) => [a.workflow_id, a]));
  const form = createForm();
  form.hidden = true;
  const create = h("button", { class: "primary", type: "button", onclick: () => { form.hidden = false; form.querySelector("input").focus(); } }, "Create");
  const body = page.data.length
    ? h(
        "table",
        { class: "table cards workflow-list" },
        h("caption", { class: "visually-hidden" }, "All workflows"),
        h("thead", {}, h("tr", {}, COLUMNS.map((t) => h("th", { scope: "col" }, t)), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
        h("tbody", {}, page.data.map((w) => row(w, activityOf.get(w.id)))),
      )
    : emptyState("No workflows yet", "Create one, add a Make HTTPS Request step, test it, publish.", null);
  clear(root, pageHeader("All Workflows", create), form, body);
}

render().catch((error) => clear(root, banner("error", `Could not load the workflows: ${error.message}`)));
