// A run: why it failed in one sentence, its timeline, its flow with each step's status, each
// step's attempts and the wait before a retry; errors in plain words with the recorded error
// one click away; Resume and Cancel. The run is polled each second with its ETag: an
// unchanged run answers 304 with no body, and the page is drawn again from the copy it has
// (countdowns and the timeline's "now" move on).

import { api, ApiError } from "../api.js";
import { timeline } from "../charts/timeline.js";
import { app, banner, clear, h, when } from "../dom.js";
import { errorNotice, explainedBadge, explainError, notice, reason, RETRIED_STATUSES, statusLegend, stepErrorWords, technicalDetail, whyTheRunFailed } from "../messages.js";

const root = app();
const runId = root.dataset.runId;
const messages = h("div", { class: "messages", "aria-live": "polite" });
const FINISHED = new Set(["completed", "failed", "cancelled"]);
let timer = null;
let opened = new Set(); // details the reader opened stay open across live updates
let etag = null; // of the run view last drawn
let run = null;
let plotWidth = null; // the timeline's width last drawn, so a redraw starts at the right size

function pairs(headers) {
  return h("table", { class: "table compact pairs" }, h("tbody", {}, headers.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, h("code", {}, v))))));
}

function countdown(iso) {
  const seconds = Math.max(0, Math.round((new Date(iso).getTime() - Date.now()) / 1000));
  return `next attempt in ${seconds} s (${when(iso)})`;
}

function waited(a, next) {
  const asked = a.retry_after !== null && a.retry_after !== undefined ? ` · the server asked for ${a.retry_after} s (Retry-After)` : "";
  if (!next) return `Waiting before the next attempt: ${countdown(a.next_attempt_at)}${asked}`;
  const seconds = (new Date(a.next_attempt_at).getTime() - new Date(a.ended_at ?? a.started_at).getTime()) / 1000;
  return `Waited ${Math.max(0, Math.round(seconds * 10) / 10)} s before attempt ${next.number}${asked}`;
}

function clock(iso) {
  return new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

// An error as the run page says it: what happened (messages.js), then what callout does next
// or what to do. `retryAt` (ISO) when another attempt is due; `retriedAt` when one was made
// after this one; `gaveUp` when the step errored on it; `brief` leaves the advice out (the
// step says it, once).
function plainError(error, { retryAt = null, retriedAt = null, gaveUp = false, brief = false } = {}) {
  const { what, fix } = stepErrorWords(error, "run");
  const retryable = error.type === "http_status" ? RETRIED_STATUSES.has(error.status) : ["timeout", "connection_error"].includes(error.type);
  if (retryAt) return `${what} callout will retry at ${clock(retryAt)}.`;
  if (brief) return gaveUp && retryable ? `${what} No retry was left.` : what;
  if (retriedAt) return `${what} callout retried at ${clock(retriedAt)}.`;
  if (gaveUp && retryable) return `${what} No retry was left, so the step stopped. ${fix}`;
  return `${what} ${fix}`;
}

function attemptError(a, s, index) {
  const later = s.attempts[index + 1];
  const last = index === s.attempts.length - 1;
  const context = {
    retryAt: last && s.status === "waiting" ? a.next_attempt_at : null,
    retriedAt: later ? later.started_at : null,
    gaveUp: last && s.status === "errored",
    brief: last && Boolean(s.error), // the step's own error says what to do, once
  };
  return [h("p", { class: "error-text" }, plainError(a.error, context)), technicalDetail(a.error, `${s.step_run_id}-${a.number}-error`, opened)];
}

function attempt(a, s, index) {
  const key = `${s.step_run_id}-${a.number}`;
  return h(
    "li",
    { class: `attempt outcome-${a.outcome}` },
    h(
      "div",
      { class: "attempt-line" },
      h("strong", {}, `Attempt ${a.number}`),
      explainedBadge("attempt", a.outcome),
      a.status ? h("span", {}, `HTTP ${a.status}`, reason(a.status) ? h("span", { class: "muted" }, ` ${reason(a.status)}`) : null) : null,
      h("span", { class: "muted" }, when(a.started_at)),
      a.duration_ms !== null ? h("span", { class: "muted" }, a.error?.type === "timeout" ? `timed out after ${a.duration_ms} ms` : `${a.duration_ms} ms`) : null,
    ),
    a.error ? attemptError(a, s, index) : null,
    a.next_attempt_at ? h("p", { class: "muted" }, waited(a, s.attempts[index + 1])) : null,
    a.request
      ? h("details", { "data-key": `${key}-request`, open: opened.has(`${key}-request`) }, h("summary", {}, `Request: ${a.request.method} ${a.request.url}`), pairs(a.request.headers), a.request.body ? h("pre", { class: "code" }, a.request.body) : null)
      : null,
    a.response
      ? h("details", { "data-key": `${key}-response`, open: opened.has(`${key}-response`) }, h("summary", {}, `Response: ${a.response.status}${a.response.body_truncated ? " (body cut)" : ""}`), pairs(a.response.headers), h("pre", { class: "code" }, a.response.body_removed ? "(removed by retention)" : a.response.body || "(empty)"))
      : null,
  );
}

function whole(s) {
  // The run view lists each step run's latest attempts and cuts large bodies; this is all of it.
  return h("a", { href: `/v1/runs/${runId}/steps/${s.step_run_id}`, target: "_blank", rel: "noopener" }, "the whole step run (JSON)");
}

function stepError(s) {
  const last = s.attempts[s.attempts.length - 1];
  // The step's error repeats its last attempt's: said once, on the step, in plain words.
  return [
    h("p", { class: "error-text step-error", role: s.status === "errored" ? "alert" : null }, plainError(s.error, { gaveUp: s.status === "errored" })),
    last?.error ? null : technicalDetail(s.error, `${s.step_run_id}-error`, opened),
  ];
}

// Why a pending step has not been sent yet, when delivery control holds it back (a host's
// limit, or a paused host): "Waiting: at most 5 requests in flight to api.example.com".
function waitReason(s) {
  if (s.status !== "pending" || !s.wait_reason) return null;
  // A time in the sentence (ISO, UTC) is said in the reader's own clock.
  const reason = s.wait_reason.trim().replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})/g, (iso) => clock(iso));
  const said = /^waiting\b/i.test(reason) ? `${reason.charAt(0).toUpperCase()}${reason.slice(1)}` : `Waiting: ${reason}`;
  return h("p", { class: "wait-reason" }, said, h("span", { class: "muted small" }, " (a wait is not an attempt: it uses none of the step's retries)"));
}

function step(s, position, superseded) {
  const label = `Step ${position}: ${s.id}${superseded ? " (before resume)" : ""}`;
  return h(
    "section",
    { class: `node run-step status-${s.status}`, "aria-label": label, "data-status": s.status },
    h("div", { class: "run-step-head" }, h("span", { class: "node-title" }, s.id), explainedBadge("step", s.status)),
    s.error ? stepError(s) : null,
    s.status === "waiting" && s.next_attempt_at ? h("p", { class: "muted" }, countdown(s.next_attempt_at)) : null,
    s.resumed_from ? h("p", { class: "muted small" }, `resumed (a new step run, key ${s.step_run_id})`) : null,
    s.attempts_total > s.attempts.length ? h("p", { class: "muted small" }, `${s.attempts_total - s.attempts.length} earlier attempts not shown: `, whole(s)) : null,
    waitReason(s),
    s.attempts.length ? h("ol", { class: "attempts", start: s.attempts[0].number }, s.attempts.map((a, i) => attempt(a, s, i))) : s.wait_reason && s.status === "pending" ? null : h("p", { class: "muted small" }, s.status === "pending" ? "not started" : "no attempts"),
    s.attempts.some((a) => a.response?.body_truncated || a.request?.body_truncated) ? h("p", { class: "muted small" }, "Bodies are cut here: ", whole(s)) : null,
  );
}

async function act(path, done) {
  try {
    await api("POST", path);
    clear(messages, banner("ok", done));
    await render();
  } catch (error) {
    // A 409 says why this run cannot do it now (its state, or retention took its bodies):
    // the server's own sentence, not a guess.
    const refused = error.status === 409 ? notice("error", { ...explainError(error), what: `${error.message.charAt(0).toUpperCase()}${error.message.slice(1)}.`, todo: run?.bodies_removed_at ? "Start a new run of the workflow instead." : "Reload the page to see the run as it is now." }) : null;
    clear(messages, refused ?? errorNotice(error));
  }
}

// Retention removed the run's bodies: say so once, with when.
function bodiesRemoved() {
  return h("p", { class: "banner banner-warning", id: "bodies-removed" }, `This run's bodies were removed by retention on ${when(run.bodies_removed_at)}: its trigger payload, request and response bodies and step outputs are gone; statuses, times, URLs, headers and errors stay${run.status === "failed" ? ", and it cannot be resumed" : ""}. `, h("a", { href: "/organization" }, "Retention settings"));
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

// What has the keyboard focus, as a selector that finds its copy in the page drawn next.
function focusedSelector() {
  const active = document.activeElement;
  if (!active || !root.contains(active)) return null;
  if (active.dataset?.key) return `[data-key="${active.dataset.key}"]`;
  const details = active.tagName === "SUMMARY" ? active.closest("details[data-key]") : null;
  return details ? `details[data-key="${details.dataset.key}"] > summary` : null;
}

async function render() {
  await fetchRun();
  const focused = focusedSelector();
  opened = new Set([...root.querySelectorAll("details[open][data-key]")].map((d) => d.dataset.key));
  const positions = new Map();
  for (const s of run.steps) if (!positions.has(s.id)) positions.set(s.id, positions.size + 1);
  const actions = [];
  if (run.status === "failed") actions.push(h("button", { type: "button", class: "primary", onclick: () => act(`/v1/runs/${runId}/resume`, "Resumed from the failed step.") }, "Resume"));
  if (run.status === "pending" || run.status === "running") actions.push(h("button", { type: "button", class: "danger", onclick: () => act(`/v1/runs/${runId}/cancel`, "Run cancelled.") }, "Cancel run"));
  const why = run.status === "failed" ? whyTheRunFailed(run) : null;
  const attempted = run.steps.some((s) => s.attempts.length);
  clear(
    root,
    h(
      "div",
      { class: "page-header" },
      h("div", { class: "title" }, h("h1", {}, run.workflow_name), explainedBadge("run", run.status), h("code", { class: "muted" }, run.id)),
      h("div", { class: "actions" }, run.workflow_id ? h("a", { class: "button", href: `/workflows/${run.workflow_id}` }, "Workflow") : null, actions),
    ),
    messages,
    h("p", { class: "muted" }, `Started ${when(run.created_at)}`, run.finished_at ? ` · finished ${when(run.finished_at)}` : " · in progress, updating live"),
    run.bodies_removed_at ? bodiesRemoved() : null,
    why ? h("p", { class: "run-why" }, why, run.bodies_removed_at ? null : " Fix the cause, then Resume: the failed step runs again with a new Idempotency-Key.") : null,
    statusLegend("legend", opened),
    attempted ? timeline(run, { width: plotWidth ?? Math.max(280, root.clientWidth - 80), opened }) : null,
    h("details", { class: "card", "data-key": "trigger", open: opened.has("trigger") }, h("summary", {}, run.trigger_truncated ? "Trigger payload (cut: " : "Trigger payload", run.trigger_truncated ? [h("a", { href: `/v1/runs/${runId}/trigger`, target: "_blank", rel: "noopener" }, "whole payload"), ")"] : null), h("pre", { class: "code" }, run.bodies_removed_at ? "(removed by retention)" : run.trigger_truncated ? run.trigger : JSON.stringify(run.trigger, null, 2))),
    h("div", { class: "flow run-flow" }, run.steps.map((s, i) => [i ? h("div", { class: "connector static" }) : null, step(s, positions.get(s.id), run.steps.slice(i + 1).some((later) => later.id === s.id))])),
  );
  plotWidth = root.querySelector(".tl-plot")?.clientWidth || plotWidth;
  if (focused) root.querySelector(focused)?.focus();
  clearTimeout(timer);
  if (!FINISHED.has(run.status)) timer = setTimeout(() => render().catch(() => {}), 1000);
}

render().catch((error) =>
  clear(root, notice("error", { ...explainError(error), what: error.status === 404 ? "This run was not found: it may belong to another organization, or have been deleted." : "The run could not be loaded.", todo: "Go back to the runs list and open it again." })),
);
