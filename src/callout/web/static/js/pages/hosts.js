// Hosts: where runs send, as delivery control sees each host (its circuit breaker, what is in
// flight and what waits), with Resume now on a paused one; and the organization's per-host
// limits, set with the server's problems beside their fields (GET /v1/hosts, GET, PUT and
// DELETE /v1/host-limits). The hosts are asked again every 2 s while the tab is visible, so a
// pause, a probe or a resume made elsewhere shows without a reload.

import { api, ApiError } from "../api.js";
import { app, banner, clear, emptyState, h, labelledCell, pageHeader, when } from "../dom.js";
import { errorNotice, explainError, fieldProblem, hostErrorWords, notice, words } from "../messages.js";

const root = app();
const EVERY_MS = 2000;
const ANY_HOST = "*";
const DEFAULT_FAILURES = 5; // store/delivery.py DEFAULT_BREAKER_FAILURES
const DEFAULT_PAUSE = 30; // store/delivery.py DEFAULT_BREAKER_PAUSE, seconds
const messages = h("div", { class: "messages", "aria-live": "polite" });
const live = h("p", { class: "hosts-live muted small", role: "status" });
const hostsPart = h("div", { class: "hosts-list" });
const limitsPart = h("div", { class: "limits-list" });
let hosts = [];
let limits = [];
let shown = null; // what the hosts table shows, to redraw it only when that changes
let form = null; // the limit form: { element, fields, editing }

// ---- what delivery control does, in plain words (the empty state, and folded otherwise)

function explanation() {
  return [
    h("p", {}, h("strong", {}, "The circuit breaker. "), `After ${DEFAULT_FAILURES} failed attempts in a row to one host (answers 5xx, timeouts, connections refused or broken), callout pauses the host: attempts to it wait instead of failing. After ${DEFAULT_PAUSE} s one probe is sent; its success resumes sending, its failure doubles the pause (up to 10 minutes). `, h("strong", {}, "Resume now"), " ends a pause at once."),
    h("p", {}, h("strong", {}, "Limits. "), "A limit caps the requests in flight to a host at once (across every worker) and the requests started per second. Requests over a limit wait their turn. A wait is not an attempt: it uses none of the step's retries, and the step's timeout starts only when the request is sent."),
  ];
}

// ---- the hosts

function clock(iso) {
  return new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function fromNow(iso) {
  const seconds = Math.round((new Date(iso).getTime() - Date.now()) / 1000);
  if (seconds <= 0) return "due now";
  if (seconds < 90) return `in ${seconds} s`;
  if (seconds < 5400) return `in ${Math.round(seconds / 60)} min`;
  return `in ${Math.round(seconds / 3600)} h`;
}

function paused(host) {
  return host.breaker === "open" || host.breaker === "half_open";
}

function threshold(host) {
  return host.limit?.effective_breaker_failures ?? DEFAULT_FAILURES;
}

function stateCell(host) {
  if (host.breaker === "open") {
    return [
      h("strong", { class: "host-state state-paused" }, "Paused"),
      host.next_probe_at ? [" — next probe at ", h("time", { datetime: host.next_probe_at, title: when(host.next_probe_at) }, clock(host.next_probe_at)), " ", h("span", { class: "muted relative", "data-at": host.next_probe_at }, `(${fromNow(host.next_probe_at)})`)] : null,
      h("br"),
      h("span", { class: "muted small" }, "Attempts to it wait; the probe's success resumes sending."),
    ];
  }
  if (host.breaker === "half_open") {
    return [h("strong", { class: "host-state state-probing" }, "Probing"), h("br"), h("span", { class: "muted small" }, "One probe is in flight; the rest wait for its answer.")];
  }
  const counting = host.consecutive_failures > 0 && threshold(host) > 0;
  return [
    h("strong", { class: "host-state state-sending" }, "Sending"),
    counting ? [h("br"), h("span", { class: "muted small" }, `Pauses after ${threshold(host)} failures in a row.`)] : null,
  ];
}

function lastError(host) {
  const said = hostErrorWords(host.last_error);
  return said ? [said, " ", h("code", { class: "muted small" }, host.last_error)] : "—";
}

function inFlight(host) {
  const most = host.limit?.max_in_flight;
  const rate = host.limit?.rate_per_second;
  return [
    most === null || most === undefined ? `${host.in_flight} (no limit)` : `${host.in_flight} / ${most}`,
    rate === null || rate === undefined ? null : h("span", { class: "muted small" }, ` · at most ${rate} a second`),
    host.limit?.host === ANY_HOST ? h("span", { class: "muted small" }, " (the * limit)") : null,
  ];
}

function hostRow(host) {
  return h(
    "tr",
    { "data-host": host.host, "data-breaker": host.breaker },
    h("td", { class: "cell-title" }, h("code", {}, host.host)),
    labelledCell("State", { class: "state" }, stateCell(host)),
    labelledCell("Failures in a row", {}, String(host.consecutive_failures)),
    labelledCell("Last error", {}, lastError(host)),
    labelledCell("In flight / limit", {}, inFlight(host)),
    labelledCell("Waiting", {}, host.waiting === 1 ? "1 step" : `${host.waiting} steps`),
    h("td", { class: "row-actions" }, paused(host) ? h("button", { type: "button", class: "primary", "aria-label": `Resume ${host.host} now`, onclick: () => resume(host) }, "Resume now") : null),
  );
}

function hostsTable() {
  if (!hosts.length) {
    return emptyState("No hosts to show yet", "A host is listed here once callout has something to say about it: failures in a row, a pause, or requests in flight or waiting under a limit.", h("div", { class: "explain" }, explanation()));
  }
  return [
    h(
      "table",
      { class: "table cards hosts" },
      h("caption", { class: "visually-hidden" }, "Hosts"),
      h("thead", {}, h("tr", {}, ["Host", "State", "Failures in a row", "Last error", "In flight / limit", "Waiting", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, hosts.map(hostRow)),
    ),
    h("details", { class: "explain" }, h("summary", {}, "What the breaker and limits do"), explanation()),
  ];
}

function drawHosts() {
  const state = JSON.stringify(hosts);
  if (state === shown) {
    // Nothing changed but the clock: "(in 25 s)" moves on in place (focus stays).
    for (const hint of hostsPart.querySelectorAll(".relative[data-at]")) hint.textContent = `(${fromNow(hint.dataset.at)})`;
    return;
  }
  if (shown !== null) live.textContent = "Hosts updated.";
  clear(hostsPart, hostsTable());
  shown = state;
}

async function resume(host) {
  if (!window.confirm(`Resume ${host.host} now? Attempts to it are sent again at once, without waiting for the probe. If it still fails, it is paused again.`)) return;
  try {
    const resumed = await api("POST", `/v1/hosts/${encodeURIComponent(host.host)}/resume`);
    hosts = hosts.map((known) => (known.host === resumed.host ? resumed : known));
    drawHosts();
    clear(messages, banner("ok", `${host.host} resumed: attempts to it are sent now.`));
  } catch (error) {
    clear(messages, errorNotice(error));
  }
}

async function loadHosts() {
  hosts = (await api("GET", "/v1/hosts")).hosts;
  drawHosts();
}

async function follow() {
  try {
    if (!document.hidden) await loadHosts();
  } catch {
    // A missed poll is retried at the next one; the table keeps what it had.
  }
  setTimeout(follow, EVERY_MS);
}

// ---- the limits

const FIELDS = [
  { name: "max_in_flight", label: "Max in flight", unit: "requests", step: 1, hint: "Requests to the host at once, across every worker. Empty: no limit." },
  { name: "rate_per_second", label: "Rate per second", unit: "", step: "any", hint: "Requests started per second (0.5 is one every 2 s). Empty: no limit." },
  { name: "burst", label: "Burst", unit: "requests", step: 1, hint: "Requests the rate lets go at once after a quiet spell. Empty: 1." },
  { name: "breaker_failures", label: "Breaker failures", unit: "failures", step: 1, hint: `Failed attempts in a row that pause the host. Empty: ${DEFAULT_FAILURES}; 0: never pause it.` },
  { name: "breaker_pause_seconds", label: "Pause (seconds)", unit: "seconds", step: "any", hint: `How long a paused host waits before its first probe, doubled after each failed probe (up to 10 minutes). Empty: ${DEFAULT_PAUSE} s.` },
];

function hostName(host) {
  return host === ANY_HOST ? [h("code", {}, ANY_HOST), " ", h("span", { class: "muted" }, "(every other host)")] : h("code", {}, host);
}

function value(limit, name, empty) {
  const v = limit[name];
  return v === null || v === undefined ? h("span", { class: "muted" }, empty) : String(v);
}

function limitRow(limit) {
  const off = limit.breaker_failures === 0;
  return h(
    "tr",
    { "data-limit": limit.host },
    h("td", { class: "cell-title" }, hostName(limit.host)),
    labelledCell("Max in flight", {}, value(limit, "max_in_flight", "no limit")),
    labelledCell("Rate per second", {}, value(limit, "rate_per_second", "no limit")),
    labelledCell("Burst", {}, value(limit, "burst", "1")),
    labelledCell("Breaker failures", {}, off ? "0 (never pauses)" : value(limit, "breaker_failures", `${limit.effective_breaker_failures ?? DEFAULT_FAILURES} (default)`)),
    labelledCell("Pause", {}, limit.breaker_pause_seconds === null || limit.breaker_pause_seconds === undefined ? h("span", { class: "muted" }, `${limit.effective_breaker_pause_seconds ?? DEFAULT_PAUSE} s (default)`) : `${limit.breaker_pause_seconds} s`),
    labelledCell("Updated", {}, when(limit.updated_at)),
    h(
      "td",
      { class: "row-actions" },
      h("button", { type: "button", "aria-label": `Edit the limit of ${limit.host}`, onclick: () => edit(limit) }, "Edit"),
      h("button", { type: "button", class: "danger", "aria-label": `Remove the limit of ${limit.host}`, onclick: () => remove(limit) }, "Remove"),
    ),
  );
}

function limitsTable() {
  if (!limits.length) return h("p", { class: "muted" }, "No limits: requests to every host go as soon as they are due, and a host is paused after 5 failures in a row.");
  return h(
    "table",
    { class: "table cards limits" },
    h("caption", { class: "visually-hidden" }, "Limits"),
    h("thead", {}, h("tr", {}, ["Host", "Max in flight", "Rate per second", "Burst", "Breaker failures", "Pause", "Updated", ""].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, limits.map(limitRow)),
  );
}

// A field with its hint and the place its problem is said.
function field(id, label, hint, input) {
  input.id = id;
  input.setAttribute("aria-describedby", `${id}-hint`);
  const error = h("p", { id: `${id}-error`, class: "field-error", hidden: true });
  const part = h("div", { class: "field" }, h("label", { for: id }, label), h("div", { class: "control" }, input), h("p", { id: `${id}-hint`, class: "muted small hint" }, hint), error);
  return { part, input, error };
}

// Say a field's problem beside it (or clear it: `text` null).
function said(entry, text) {
  entry.error.hidden = text === null;
  entry.error.textContent = text ?? "";
  entry.input.setAttribute("aria-invalid", text === null ? "false" : "true");
  const id = entry.input.id;
  entry.input.setAttribute("aria-describedby", text === null ? `${id}-hint` : `${id}-error ${id}-hint`);
}

function limitForm() {
  const title = h("h3", { id: "limit-form-title" }, "Add a limit");
  const fields = {
    host: field("limit-host", "Host", words("The host name in the step's URL, without the port (`api.example.com`). `*` is every other host: each host without a limit of its own gets this one, on its own."), h("input", { type: "text", autocomplete: "off", spellcheck: "false", placeholder: "api.example.com" })),
  };
  for (const f of FIELDS) {
    fields[f.name] = field(`limit-${f.name.replaceAll("_", "-")}`, f.label, f.hint, h("input", { type: "number", step: f.step, inputmode: f.step === 1 ? "numeric" : "decimal" }));
  }
  const cancel = h("button", { type: "button", hidden: true }, "Cancel");
  const element = h(
    "form",
    { class: "card settings limit-form", "aria-labelledby": "limit-form-title", novalidate: true },
    title,
    Object.values(fields).map((f) => f.part),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Save limit"), cancel),
  );
  const made = { element, fields, title, cancel, editing: null };
  cancel.addEventListener("click", () => reset(made));
  element.addEventListener("submit", (event) => {
    event.preventDefault();
    save(made);
  });
  return made;
}

function reset(made) {
  made.element.reset();
  made.editing = null;
  made.title.textContent = "Add a limit";
  made.fields.host.input.readOnly = false;
  made.cancel.hidden = true;
  for (const entry of Object.values(made.fields)) said(entry, null);
}

function edit(limit) {
  reset(form);
  form.editing = limit.host;
  form.title.textContent = limit.host === ANY_HOST ? "Edit the limit of every other host (*)" : `Edit the limit of ${limit.host}`;
  form.fields.host.input.value = limit.host;
  form.fields.host.input.readOnly = true;
  for (const f of FIELDS) form.fields[f.name].input.value = limit[f.name] ?? "";
  form.cancel.hidden = false;
  form.element.scrollIntoView({ block: "nearest" });
  form.fields.max_in_flight.input.focus();
}

function number(text) {
  // What was typed, as the API reads it: it says what is wrong with a fraction or a negative.
  return text.trim() === "" ? null : Number(text);
}

async function save(made) {
  for (const entry of Object.values(made.fields)) said(entry, null);
  const host = made.fields.host.input.value.trim().toLowerCase();
  if (!host) {
    said(made.fields.host, "Enter a host name, or * for every other host.");
    made.fields.host.input.focus();
    return;
  }
  const body = Object.fromEntries(FIELDS.map((f) => [f.name, number(made.fields[f.name].input.value)]));
  try {
    await api("PUT", `/v1/host-limits/${encodeURIComponent(host)}`, body);
    const was = made.editing;
    reset(made);
    await loadLimits();
    clear(messages, banner("ok", `${was ? "Limit saved" : "Limit added"} for ${host === ANY_HOST ? "every other host (*)" : host}.`));
  } catch (error) {
    if (error instanceof ApiError && error.status === 422) refused(made, error.details);
    else clear(messages, errorNotice(error));
  }
}

function refused(made, details) {
  const elsewhere = [];
  for (const problem of details) {
    const name = String(problem.path ?? "").split(".").pop();
    const entry = made.fields[name];
    const unit = FIELDS.find((f) => f.name === name)?.unit ?? "";
    // The server names other fields by their paths (`body.rate_per_second`): say their labels.
    const message = FIELDS.reduce((text, f) => text.replaceAll(`body.${f.name}`, f.label), String(problem.message));
    if (entry) said(entry, fieldProblem(message, unit));
    else elsewhere.push(problem.path ? `${problem.path}: ${problem.message}` : problem.message);
  }
  const count = details.length;
  clear(messages, notice("error", {
    what: `The limit was not saved: ${count === 1 ? "1 problem" : `${count} problems`} to fix${elsewhere.length ? "" : ", shown beside the fields"}.`,
    problems: elsewhere,
  }));
  Object.values(made.fields).find((f) => !f.error.hidden)?.input.focus();
}

async function remove(limit) {
  const whose = limit.host === ANY_HOST ? "every other host (*)" : limit.host;
  if (!window.confirm(`Remove the limit of ${whose}? Its requests then go as soon as they are due, and the breaker keeps its defaults.`)) return;
  try {
    await api("DELETE", `/v1/host-limits/${encodeURIComponent(limit.host)}`);
    if (form.editing === limit.host) reset(form);
    await loadLimits();
    clear(messages, banner("ok", `The limit of ${whose} was removed.`));
  } catch (error) {
    clear(messages, errorNotice(error));
  }
}

// After a change: the limits, and the hosts (a host with a limit of its own is listed, and
// each shows the limit that applies to it).
async function loadLimits() {
  limits = (await api("GET", "/v1/host-limits")).host_limits;
  clear(limitsPart, limitsTable());
  await loadHosts();
}

async function start() {
  const [found, set] = await Promise.all([api("GET", "/v1/hosts"), api("GET", "/v1/host-limits")]);
  hosts = found.hosts;
  limits = set.host_limits;
  form = limitForm();
  clear(
    root,
    pageHeader("Hosts"),
    h("p", { class: "muted intro" }, "The hosts your runs send to: whether each is sending or paused by its circuit breaker, and the limits on how fast callout sends to it."),
    messages,
    h("section", { "aria-labelledby": "hosts-title" }, h("h2", { id: "hosts-title" }, "Hosts"), live, hostsPart),
    h("section", { "aria-labelledby": "limits-title", class: "limits" }, h("h2", { id: "limits-title" }, "Limits"), limitsPart, form.element),
  );
  drawHosts();
  clear(limitsPart, limitsTable());
  setTimeout(follow, EVERY_MS);
}

start().catch((error) => clear(root, pageHeader("Hosts"), notice("error", { ...explainError(error), what: "The hosts could not be loaded.", todo: "Reload the page; if it still fails, the technical detail says why." })));
