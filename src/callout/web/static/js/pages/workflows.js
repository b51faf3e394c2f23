// Workflows > All Workflows: the list, with status, live version, last run; Create.

import { api, ApiError } from "../api.js";
import { ago, app, badge, banner, clear, emptyState, h, pageHeader } from "../dom.js";

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

function row(workflow) {
  const last = workflow.last_run;
  return h(
    "tr",
    {},
    h("td", {}, h("a", { href: `/workflows/${workflow.id}` }, workflow.name)),
    h("td", {}, badge(workflow.status)),
    h("td", {}, workflow.live_version ? `v${workflow.live_version.number}` : "—"),
    h("td", {}, workflow.event ? h("code", {}, workflow.event) : h("span", { class: "muted" }, "API only")),
    h("td", {}, last ? h("a", { href: `/runs/${last.id}` }, badge(last.status), " ", ago(last.created_at)) : h("span", { class: "muted" }, "no runs yet")),
  );
}

async function render() {
  const page = await api("GET", "/v1/workflows?limit=200");
  const form = createForm();
  form.hidden = true;
  const create = h("button", { class: "primary", type: "button", onclick: () => { form.hidden = false; form.querySelector("input").focus(); } }, "Create");
  const body = page.data.length
    ? h(
        "table",
        { class: "table" },
        h("caption", { class: "visually-hidden" }, "All workflows"),
        h("thead", {}, h("tr", {}, ["Name", "Status", "Live version", "Starts on", "Last run"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, page.data.map(row)),
      )
    : emptyState("No workflows yet", "Create one, add a Make HTTPS Request step, test it, publish.", null);
  clear(root, pageHeader("All Workflows", create), form, body);
}

render().catch((error) => clear(root, banner("error", `Could not load the workflows: ${error.message}`)));
