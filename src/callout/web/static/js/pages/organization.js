// The organization: its plan (and the actions it includes), and how long its runs and their
// bodies are kept (GET and PATCH /v1/organization). The server checks every value, so the
// form sends what is typed (`novalidate`): the API's 422 problems show beside their fields
// (by `details[].path`), in plain words, all at once.

import { api, ApiError } from "../api.js";
import { app, banner, clear, h, pageHeader, when } from "../dom.js";
import { errorNotice, notice } from "../messages.js";

const root = app();
const messages = h("div", { class: "messages", "aria-live": "polite" });

// The API's paths, and the field each belongs to.
const FIELDS = { "body.retention_days": "retention-days", "body.body_retention_days": "body-days" };

function days(n) {
  return `${n} day${Number(n) === 1 ? "" : "s"}`;
}

// A problem as a sentence about its field (the field's label names it).
function plain(message) {
  const least = /greater than or equal to (\d+)/.exec(message);
  if (least) return `Must be at least ${days(least[1])}.`;
  const most = /less than or equal to (\d+)/.exec(message);
  if (most) return `Must be at most ${days(most[1])}.`;
  if (/valid integer/.test(message)) return "Must be a whole number of days.";
  const text = /^is /.test(message) ? `This ${message}` : message;
  return text.endsWith(".") ? text : `${text}.`;
}

// What the setting means, in one sentence.
function kept(org) {
  const bodies = org.body_retention_days === null
    ? "their bodies as long as the runs"
    : `their bodies ${days(org.body_retention_days)}, then only the runs' records`;
  return `Finished runs are kept ${days(org.retention_days)}, ${bodies}.`;
}

function planCard(org) {
  const included = org.actions.filter((a) => a.available);
  const missing = org.actions.filter((a) => !a.available);
  const planNames = (plans) => plans.map((p) => p[0].toUpperCase() + p.slice(1)).join(", ");
  return h(
    "section",
    { class: "card", "aria-labelledby": "plan-title" },
    h("h2", { id: "plan-title" }, "Plan"),
    h("p", {}, h("span", { class: "badge", "data-plan": org.plan }, org.plan), " ", h("strong", {}, org.name), " ", h("code", { class: "muted" }, org.id), h("span", { class: "muted" }, ` · created ${when(org.created_at)}`)),
    h("p", {}, included.length ? `Actions it includes: ${included.map((a) => a.title).join(", ")}.` : "Its plan includes no actions."),
    missing.length ? h("p", { class: "muted" }, `Not included: ${missing.map((a) => `${a.title} (${planNames(a.plans)})`).join(", ")}.`) : null,
    h("p", { class: "muted small" }, "Whoever runs callout sets the plan: ", h("code", {}, `callout orgs plan ${org.id} PLAN`), "."),
  );
}

// A number field with its hint and the place its problem is said.
function numberField(id, label, hint, value) {
  const input = h("input", { id, type: "number", inputmode: "numeric", step: 1, value, "aria-describedby": `${id}-hint` });
  const error = h("p", { id: `${id}-error`, class: "field-error", hidden: true });
  const part = h("div", { class: "field" }, h("label", { for: id }, label), h("div", { class: "control" }, input), h("p", { id: `${id}-hint`, class: "muted small hint" }, hint), error);
  return { part, input, error };
}

function number(text) {
  // What was typed, as the API reads it: it says what is wrong with a blank or a fraction.
  return text.trim() === "" ? text : Number(text);
}

function retentionForm(org) {
  const runs = numberField(
    "retention-days",
    "Keep finished runs for (days)",
    "1 to 3650. Their attempts and the trigger call records go with them. Pending and running runs are never deleted.",
    org.retention_days,
  );
  const same = h("input", { id: "body-same", type: "checkbox", checked: org.body_retention_days === null });
  const bodies = numberField(
    "body-days",
    "Keep bodies for (days)",
    "0 up to the runs' days. Bodies are trigger payloads, request and response bodies and step outputs; once they go, the run's record stays (statuses, times, URLs, headers, errors). A failed run without its bodies cannot be resumed.",
    org.body_retention_days ?? org.retention_days,
  );
  const follow = () => { bodies.input.disabled = same.checked; };
  same.addEventListener("change", follow);
  follow();
  const fields = { "retention-days": runs, "body-days": bodies };
  const form = h(
    "form",
    { class: "card settings", "aria-labelledby": "retention-title", novalidate: true },
    h("h2", { id: "retention-title" }, "Retention"),
    h("p", { id: "retention-now" }, kept(org)),
    runs.part,
    h("div", { class: "field checkbox" }, same, h("label", { for: "body-same" }, "Keep bodies as long as the runs")),
    bodies.part,
    h("button", { type: "submit", class: "primary" }, "Save retention"),
    h(
      "ul",
      { class: "muted small" },
      h("li", {}, "Pruning runs every 10 minutes: a worker deletes what is past these settings in small batches. A shorter setting takes effect at the next pass; what is gone does not come back."),
      h("li", {}, "Idempotency keys of trigger calls expire after 24 hours, whatever is set here: a repeat of a key after that starts new runs."),
    ),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const field of Object.values(fields)) said(field, null);
    const body = { retention_days: number(runs.input.value), body_retention_days: same.checked ? null : number(bodies.input.value) };
    try {
      const saved = await api("PATCH", "/v1/organization", body);
      draw(saved);
      clear(messages, banner("ok", `Retention saved. ${kept(saved)}`));
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 422)) {
        clear(messages, errorNotice(error));
        return;
      }
      refused(error.details, fields);
    }
  });
  return form;
}

// Say a field's problem beside it (or clear it: `text` null).
function said(field, text) {
  field.error.hidden = text === null;
  field.error.textContent = text ?? "";
  field.input.setAttribute("aria-invalid", text === null ? "false" : "true");
  field.input.setAttribute("aria-describedby", text === null ? `${field.input.id}-hint` : `${field.input.id}-error ${field.input.id}-hint`);
}

function refused(details, fields) {
  const elsewhere = [];
  for (const problem of details) {
    const field = fields[FIELDS[problem.path]];
    if (field) said(field, plain(problem.message));
    else elsewhere.push(problem.path ? `${problem.path}: ${problem.message}` : problem.message);
  }
  const count = details.length;
  clear(messages, notice("error", {
    what: `Nothing was saved: ${count === 1 ? "1 problem" : `${count} problems`} to fix${elsewhere.length ? "" : ", shown beside the fields"}.`,
    problems: elsewhere,
  }));
  Object.values(fields).find((f) => !f.error.hidden)?.input.focus();
}

function draw(org) {
  clear(root, pageHeader("Organization"), messages, planCard(org), retentionForm(org));
}

api("GET", "/v1/organization")
  .then(draw)
  .catch((error) => clear(root, pageHeader("Organization"), errorNotice(error)));
