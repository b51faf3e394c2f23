// A run: its flow with each step's status, its latest attempts, the wait before a retry; Resume.
// The run is polled each second with its ETag: an unchanged run answers 304 with no body,
// and the page is drawn again from the copy it has (countdowns move on).

import { api, ApiError } from "../api.js";
import { app, badge, banner, clear, h, when } from "../dom.js";

const root = app();
const runId = root.dataset.runId;
const messages = h("div", { class: "messages", "aria-live": "polite" });
const FINISHED = new Set(["completed", "failed", "cancelled"]);
let timer = null;
let opened = new Set(); // details the reader opened stay open across live updates
let etag = null; // of the run view last drawn
let run = null;

function pairs(headers) {
  return h("table", { class: "table compact" }, h("tbody", {}, headers.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, h("code", {}, v))))));
}

function countdown(iso) {
  const seconds = Math.max(0, Math.round((new Date(iso).getTime() - Date.now()) / 1000));
  return `next attempt in ${seconds} s (${when(iso)})`;
}

function attempt(a, stepRunId) {
  const key = `${stepRunId}-${a.number}`;
  return h(
    "li",
    { class: `attempt outcome-${a.outcome}` },
    h(
      "div",
      { class: "attempt-line" },
      h("strong", {}, `Attempt ${a.number}`),
      badge(a.outcome),
      a.status ? h("span", {}, `HTTP ${a.status}`) : null,
      h("span", { class: "muted" }, when(a.started_at)),
      a.duration_ms !== null ? h("span", { class: "muted" }, `${a.duration_ms} ms`) : null,
    ),
    a.error ? h("p", { class: "error-text" }, `${a.error.type}: ${a.error.message}`) : null,
    a.next_attempt_at ? h("p", { class: "muted" }, `Waited before the next attempt: ${countdown(a.next_attempt_at)}`) : null,
    a.request
      ? h("details", { "data-key": `${key}-request`, open: opened.has(`${key}-request`) }, h("summary", {}, `Request: ${a.request.method} ${a.request.url}`), pairs(a.request.headers), a.request.body ? h("pre", { class: "code" }, a.request.body) : null)
      : null,
    a.response
      ? h("details", { "data-key": `${key}-response`, open: opened.has(`${key}-response`) }, h("summary", {}, `Response: ${a.response.status}${a.response.body_truncated ? " (body cut)" : ""}`), pairs(a.response.headers), h("pre", { class: "code" }, a.response.body || "(empty)"))
      : null,
  );
}

function whole(s) {
  // The run view lists each step run's latest attempts and cuts large bodies; this is all of it.
  return h("a", { href: `/v1/runs/${runId}/steps/${s.step_run_id}`, target: "_blank", rel: "noopener" }, "the whole step run (JSON)");
}

function step(s, position, superseded) {
  const label = `Step ${position}: ${s.id}${superseded ? " (before resume)" : ""}`;
  return h(
    "section",
    { class: `node run-step status-${s.status}`, "aria-label": label, "data-status": s.status },
    h("div", { class: "run-step-head" }, h("span", { class: "node-title" }, s.id), badge(s.status)),
    s.error ? h("p", { class: "error-text", role: s.status === "errored" ? "alert" : null }, `${s.error.type}: ${s.error.message}`) : null,
    s.status === "waiting" && s.next_attempt_at ? h("p", { class: "muted" }, countdown(s.next_attempt_at)) : null,
    s.resumed_from ? h("p", { class: "muted small" }, `resumed (a new step run, key ${s.step_run_id})`) : null,
    s.attempts_total > s.attempts.length ? h("p", { class: "muted small" }, `${s.attempts_total - s.attempts.length} earlier attempts not shown: `, whole(s)) : null,
    s.attempts.length ? h("ol", { class: "attempts", start: s.attempts[0].number }, s.attempts.map((a) => attempt(a, s.step_run_id))) : h("p", { class: "muted small" }, s.status === "pending" ? "not started" : "no attempts"),
    s.attempts.some((a) => a.response?.body_truncated || a.request?.body_truncated) ? h("p", { class: "muted small" }, "Bodies are cut here: ", whole(s)) : null,
  );
}

async function act(path, done) {
  try {
    await api("POST", path);
    clear(messages, banner("ok", done));
    await render();
  } catch (error) {
    clear(messages, banner("error", error.message, error instanceof ApiError ? error.details : []));
  }
}

async function fetchRun() {
  // Keeps the run view in `run`; a 304 means the copy in hand is still the run.
  const response = await fetch(`/v1/runs/${runId}`, { credentials: "same-origin", headers: etag ? { "If-None-Match": etag } : {} });
  if (response.status === 304) return;
  if (response.status === 401) window.location.assign("/sign-in");
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  etag = response.headers.get("ETag");
  run = data;
}

async function render() {
  await fetchRun();
  opened = new Set([...root.querySelectorAll("details[open][data-key]")].map((d) => d.dataset.key));
  const positions = new Map();
  for (const s of run.steps) if (!positions.has(s.id)) positions.set(s.id, positions.size + 1);
  const actions = [];
  if (run.status === "failed") actions.push(h("button", { type: "button", class: "primary", onclick: () => act(`/v1/runs/${runId}/resume`, "Resumed from the failed step.") }, "Resume"));
  if (run.status === "pending" || run.status === "running") actions.push(h("button", { type: "button", class: "danger", onclick: () => act(`/v1/runs/${runId}/cancel`, "Run cancelled.") }, "Cancel run"));
  clear(
    root,
    h(
      "div",
      { class: "page-header" },
      h("div", { class: "title" }, h("h1", {}, run.workflow_name), badge(run.status), h("code", { class: "muted" }, run.id)),
      h("div", { class: "actions" }, run.workflow_id ? h("a", { class: "button", href: `/workflows/${run.workflow_id}` }, "Workflow") : null, actions),
    ),
    messages,
    h("p", { class: "muted" }, `Started ${when(run.created_at)}`, run.finished_at ? ` · finished ${when(run.finished_at)}` : " · in progress, updating live"),
    h("details", { class: "card", "data-key": "trigger", open: opened.has("trigger") }, h("summary", {}, run.trigger_truncated ? "Trigger payload (cut: " : "Trigger payload", run.trigger_truncated ? [h("a", { href: `/v1/runs/${runId}/trigger`, target: "_blank", rel: "noopener" }, "whole payload"), ")"] : null), h("pre", { class: "code" }, run.trigger_truncated ? run.trigger : JSON.stringify(run.trigger, null, 2))),
    h("div", { class: "flow run-flow" }, run.steps.map((s, i) => [i ? h("div", { class: "connector static" }) : null, step(s, positions.get(s.id), run.steps.slice(i + 1).some((later) => later.id === s.id))])),
  );
  clearTimeout(timer);
  if (!FINISHED.has(run.status)) timer = setTimeout(() => render().catch(() => {}), 1000);
}

render().catch((error) => clear(root, banner("error", `Could not load the run: ${error.message}`)));
