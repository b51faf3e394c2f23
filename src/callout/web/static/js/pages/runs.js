// Runs: the list, filtered by workflow and status.

import { api } from "../api.js";
import { ago, app, badge, banner, clear, emptyState, h, pageHeader } from "../dom.js";

const root = app();
const STATUSES = ["pending", "running", "completed", "failed", "cancelled"];

async function render() {
  const params = new URLSearchParams(window.location.search);
  const query = new URLSearchParams({ limit: "100" });
  for (const name of ["workflow_id", "status"]) if (params.get(name)) query.set(name, params.get(name));
  const [runs, workflows] = await Promise.all([api("GET", `/v1/runs?${query}`), api("GET", "/v1/workflows?limit=200")]);
  const names = Object.fromEntries(workflows.data.map((w) => [w.id, w.name]));

  const workflow = h("select", { id: "filter-workflow", name: "workflow_id" }, h("option", { value: "" }, "All workflows"), workflows.data.map((w) => h("option", { value: w.id, selected: params.get("workflow_id") === w.id }, w.name)));
  const status = h("select", { id: "filter-status", name: "status" }, h("option", { value: "" }, "Any status"), STATUSES.map((s) => h("option", { value: s, selected: params.get("status") === s }, s)));
  const filters = h(
    "form",
    { class: "filters", "aria-label": "Filter runs", method: "get", action: "/runs" },
    h("label", { for: "filter-workflow" }, "Workflow"),
    workflow,
    h("label", { for: "filter-status" }, "Status"),
    status,
    h("button", { type: "submit" }, "Filter"),
  );
  for (const select of [workflow, status]) select.addEventListener("change", () => filters.requestSubmit());

  const table = runs.data.length
    ? h(
        "table",
        { class: "table" },
        h("caption", { class: "visually-hidden" }, "Runs"),
        h("thead", {}, h("tr", {}, ["Run", "Workflow", "Status", "Started", "Finished"].map((t) => h("th", { scope: "col" }, t)))),
        h(
          "tbody",
          {},
          runs.data.map((run) =>
            h(
              "tr",
              {},
              h("td", {}, h("a", { href: `/runs/${run.id}` }, h("code", {}, run.id))),
              h("td", {}, run.workflow_id ? h("a", { href: `/workflows/${run.workflow_id}` }, names[run.workflow_id] ?? run.workflow_name) : run.workflow_name),
              h("td", {}, badge(run.status)),
              h("td", {}, ago(run.created_at)),
              h("td", {}, run.finished_at ? ago(run.finished_at) : "—"),
            ),
          ),
        ),
      )
    : emptyState("No runs", "Runs appear here when a published workflow is triggered.");
  clear(root, pageHeader("Runs"), filters, table);
}

render().catch((error) => clear(root, banner("error", `Could not load the runs: ${error.message}`)));
