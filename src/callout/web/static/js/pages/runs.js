// Runs: the list, filtered by workflow and status, following new runs and status changes
// without a reload (it asks again every few seconds while the tab is visible; a change
// redraws the table and is announced). With no runs, it says how to start one.

import { api } from "../api.js";
import { ago, app, clear, emptyState, h, labelledCell, pageHeader } from "../dom.js";
import { explainedBadge, explainError, notice } from "../messages.js";

const root = app();
const STATUSES = ["pending", "running", "completed", "failed", "cancelled"];
const EVERY_MS = 2000;
const params = new URLSearchParams(window.location.search);
const filtered = ["workflow_id", "status"].some((name) => params.get(name));
const query = new URLSearchParams({ limit: "100" });
for (const name of ["workflow_id", "status"]) if (params.get(name)) query.set(name, params.get(name));
const names = new Map(); // workflow id -> name
const list = h("div", { class: "runs-list" });
const live = h("p", { class: "runs-live muted", role: "status" });
let shown = null; // what the table shows: "id status finished_at" of each run
let known = null; // run ids seen so far, to count the new ones

function filters(workflows) {
  const workflow = h("select", { id: "filter-workflow", name: "workflow_id" }, h("option", { value: "" }, "All workflows"), workflows.map((w) => h("option", { value: w.id, selected: params.get("workflow_id") === w.id }, w.name)));
  const status = h("select", { id: "filter-status", name: "status" }, h("option", { value: "" }, "Any status"), STATUSES.map((s) => h("option", { value: s, selected: params.get("status") === s }, s)));
  const form = h(
    "form",
    { class: "filters", "aria-label": "Filter runs", method: "get", action: "/runs" },
    h("label", { for: "filter-workflow" }, "Workflow"),
    workflow,
    h("label", { for: "filter-status" }, "Status"),
    status,
    h("button", { type: "submit" }, "Filter"),
  );
  for (const select of [workflow, status]) select.addEventListener("change", () => form.requestSubmit());
  return form;
}

function howToStart() {
  if (filtered) return emptyState("No runs match these filters", "Runs of other workflows or with another status are not shown.", h("a", { class: "button", href: "/runs" }, "Show all runs"));
  return emptyState(
    "No runs yet",
    "A run starts when a published workflow is triggered. New runs appear here as they start, without a reload.",
    h(
      "div",
      {},
      h(
        "ol",
        { class: "how-to-run" },
        h("li", {}, "Open a published workflow from ", h("a", { href: "/workflows" }, "Workflows"), " and press ", h("strong", {}, "Run"), " (in the list or in the editor): give it a payload, and its run page opens."),
        h("li", {}, "Or start it from your code: ", h("code", {}, "POST /v1/workflows/{id}/trigger"), " with an API key."),
        h("li", {}, "Or send the event its trigger listens to: ", h("code", {}, "POST /v1/events"), "."),
      ),
      h("a", { class: "button primary", href: "/workflows" }, "Go to Workflows"),
    ),
  );
}

function table(runs) {
  return h(
    "table",
    { class: "table cards" },
    h("caption", { class: "visually-hidden" }, "Runs"),
    h("thead", {}, h("tr", {}, ["Run", "Workflow", "Status", "Started", "Finished"].map((t) => h("th", { scope: "col" }, t)))),
    h(
      "tbody",
      {},
      runs.map((run) =>
        h(
          "tr",
          { "data-run-id": run.id, class: known && !known.has(run.id) ? "new-run" : null },
          h("td", { class: "cell-title" }, h("a", { href: `/runs/${run.id}` }, h("code", {}, run.id))),
          labelledCell("Workflow", {}, run.workflow_id ? h("a", { href: `/workflows/${run.workflow_id}` }, names.get(run.workflow_id) ?? run.workflow_name) : run.workflow_name),
          labelledCell("Status", {}, explainedBadge("run", run.status)),
          labelledCell("Started", { class: "started" }, ago(run.created_at)),
          labelledCell("Finished", { class: "finished" }, run.finished_at ? ago(run.finished_at) : "—"),
        ),
      ),
    ),
  );
}

function draw(runs) {
  const state = runs.map((r) => `${r.id} ${r.status} ${r.finished_at}`).join("\n");
  if (state === shown) {
    // Nothing changed but the clock: "5 s ago" moves on in place (focus and selection stay).
    for (const run of runs) {
      const row = list.querySelector(`tr[data-run-id="${run.id}"]`);
      if (row) {
        row.querySelector(".started .cell-value").textContent = ago(run.created_at);
        row.querySelector(".finished .cell-value").textContent = run.finished_at ? ago(run.finished_at) : "—";
      }
    }
    return;
  }
  const fresh = known ? runs.filter((r) => !known.has(r.id)).length : 0;
  if (fresh) live.textContent = `${fresh} new run${fresh === 1 ? "" : "s"} just started.`;
  else if (shown !== null) live.textContent = "Run statuses updated.";
  clear(list, runs.length ? table(runs) : howToStart());
  shown = state;
  known = new Set(runs.map((r) => r.id));
}

async function follow() {
  try {
    if (!document.hidden) {
      const runs = await api("GET", `/v1/runs?${query}`);
      draw(runs.data);
    }
  } catch {
    // A missed poll is retried at the next one; the table keeps what it had.
  }
  setTimeout(follow, EVERY_MS);
}

async function start() {
  const [runs, workflows] = await Promise.all([api("GET", `/v1/runs?${query}`), api("GET", "/v1/workflows?limit=200")]);
  for (const w of workflows.data) names.set(w.id, w.name);
  clear(root, pageHeader("Runs"), filters(workflows.data), live, list);
  draw(runs.data);
  setTimeout(follow, EVERY_MS);
}

start().catch((error) => clear(root, notice("error", { ...explainError(error), what: "The runs could not be loaded.", todo: "Reload the page; if it still fails, the technical detail says why." })));
