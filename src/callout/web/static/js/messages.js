// Messages for people, in one place: what each error means in plain words, and what to do,
// with the technical detail (error code, HTTP status, field paths, the server's own words)
// one click away. Pages add only what is theirs: the run page when callout retries
// (pages/run.js), Test step what a run would do next (editor/test-result.js).
//
// - errors from callout's API (`explainError`), and the problems of a draft by field;
// - a failed attempt's error, by its type (`stepErrorWords`): the same sentence on the run
//   page and after Test step; only the advice differs where the two places differ;
// - the words a status wears (run "failed", step "errored", attempt "failed") explained.

import { h } from "./dom.js";

// ---- text with `code` in it, and banners

// Text with `code` in backticks becomes text and <code> elements: no literal backticks shown.
export function words(text) {
  return String(text ?? "").split("`").map((part, i) => (i % 2 ? h("code", {}, part) : part)).filter((p) => p !== "");
}

// A banner with the plain message first and the technical detail folded.
export function notice(kind, { what, todo, problems = [], detail = [] }) {
  return h(
    "div",
    { class: `banner banner-${kind}`, role: kind === "error" ? "alert" : "status" },
    h("p", { class: "what" }, words(what)),
    problems.length ? h("ul", {}, problems.map((p) => h("li", {}, words(p)))) : null,
    todo ? h("p", { class: "todo" }, words(todo)) : null,
    detail.length ? h("details", { class: "technical" }, h("summary", {}, "Technical detail"), h("ul", {}, detail.map((d) => h("li", {}, h("code", {}, d))))) : null,
  );
}

// ---- the problems of a draft, named as the editor labels its fields

const FIELDS = {
  name: "Workflow name", steps: "Steps", id: "Step ID", action: "Action", url: "URL", method: "Request Type",
  body: "Body", body_type: "Body type", content_type: "Content type", headers: "Request Headers",
  query: "Query Parameters", auth: "Authentication", client_certificate: "Client certificate",
  follow_redirects: "Follow redirects", response_schema: "Response Schema", secret: "Secret",
  retry_intervals: "Retry Intervals", timeout: "Request Timeout", continue_on_error: "Continue on error",
  "trigger.event": "Trigger event name", "trigger.schema": "Trigger Schema", trigger: "Trigger",
};

// "steps[0].url" -> "Step 1 (create_user), URL"; a path it does not know is kept as it is.
export function placeOf(path, doc) {
  const step = /^steps\[(\d+)\](?:\.([a-z_]+))?(.*)$/.exec(path ?? "");
  if (step) {
    const index = Number(step[1]);
    const id = doc?.steps?.[index]?.id;
    const where = `Step ${index + 1}${id ? ` (${id})` : ""}`;
    if (!step[2]) return where;
    return `${where}, ${FIELDS[step[2]] ?? step[2]}${step[3] ? ` ${step[3].replace(/^\./, "")}` : ""}`;
  }
  const top = /^(trigger\.event|trigger\.schema|trigger|name|steps)(.*)$/.exec(path ?? "");
  if (top) return `${FIELDS[top[1]]}${top[2] ? ` ${top[2].replace(/^\./, "")}` : ""}`;
  return path;
}

export function plainProblem(problem, doc) {
  if (!problem.path) return problem.message;
  const where = placeOf(problem.path, doc);
  const joined = /^(is|must|should|has|may|can|needs?|was|cannot|does) /.test(problem.message) ? " " : ": ";
  return `${where}${joined}${problem.message}`;
}

// ---- errors from callout's own API (by their `code`)

const API_WORDS = {
  plan_lacks_action: (e) => [`${e.message}.`, "Remove that step, or ask whoever runs callout to move this organization to one of those plans."],
  invalid_document: (e) => [`The workflow has ${e.details.length || "some"} problem${e.details.length === 1 ? "" : "s"} to fix first.`, "Fix what is listed (the fields are marked in red), then try again."],
  invalid_payload: () => ["The payload does not match the workflow's Trigger Schema, so no run was started.", "Change the payload as listed, or change the Trigger Schema and publish again."],
  not_published: () => ["This workflow has no published version yet, so it cannot run.", "Publish it first."],
  workflow_archived: () => ["This workflow is archived, so it starts no runs.", "Unarchive it first."],
  live_version_invalid: () => ["The live version cannot run with this server's current settings.", "Publish a new version."],
  idempotency_key_reused: () => ["This run was already started with another payload.", "Close this window and press Run again."],
  csrf_failed: () => ["This page is out of date for your session.", "Reload the page, then try again."],
  unauthorized: () => ["Your session has ended.", "Sign in again."],
  not_found: () => ["It was not found: it may have been deleted meanwhile.", "Reload the page."],
  conflict: () => ["It was changed somewhere else at the same time.", "Reload the page, then try again."],
  invalid_request: () => ["callout refused the request.", "Check the values listed below, then try again."],
  body_too_large: () => ["This is larger than callout accepts in one request.", "Make it smaller (a shorter payload or document), then try again."],
  invalid_curl_command: () => ["callout could not read this cURL command.", "Fix what is listed, or fill the fields by hand."],
  store_unavailable: () => ["callout's database is not answering right now.", "Try again in a few seconds."],
  secret_key_unavailable: () => ["callout cannot read its stored secrets right now.", "Ask whoever runs callout to check its secret key setting."],
  internal_error: () => ["callout failed unexpectedly.", "Try again; if it keeps failing, whoever runs callout can find the cause in its log."],
};

// What happened and what to do for an error thrown by api() or fetch().
export function explainError(error, doc) {
  if (error?.status === undefined) {
    return { what: "callout could not be reached.", todo: "Check your connection, then try again.", problems: [], detail: [String(error?.message ?? error)] };
  }
  const said = API_WORDS[error.code];
  const [what, todo] = said ? said(error) : [`${error.message}.`, "Try again; if it keeps failing, the technical detail below says more."];
  return {
    what,
    todo,
    problems: (error.details ?? []).map((p) => plainProblem(p, doc)),
    detail: [`HTTP ${error.status} ${error.code}: ${error.message}`, ...(error.details ?? []).map((p) => (p.path ? `${p.path}: ${p.message}` : p.message))],
  };
}

export function errorNotice(error, doc) {
  return notice("error", explainError(error, doc));
}

// ---- a failed attempt's error, by its type

const REASONS = {
  200: "OK", 201: "Created", 202: "Accepted", 203: "Non-Authoritative Information", 204: "No Content", 205: "Reset Content", 206: "Partial Content",
  301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified", 307: "Temporary Redirect", 308: "Permanent Redirect",
  400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
  406: "Not Acceptable", 408: "Request Timeout", 409: "Conflict", 410: "Gone", 411: "Length Required", 412: "Precondition Failed",
  413: "Content Too Large", 414: "URI Too Long", 415: "Unsupported Media Type", 422: "Unprocessable Content", 423: "Locked",
  425: "Too Early", 428: "Precondition Required", 429: "Too Many Requests", 431: "Request Header Fields Too Large",
  500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
};

// The statuses a run retries (steps/https_request/outcome.py RETRYABLE_STATUSES).
export const RETRIED_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);

export function reason(status) {
  return REASONS[status] ?? (status >= 500 ? "Server Error" : status >= 400 ? "Client Error" : "");
}

// Each error type callout records: what happened, and what to do. `fix` is one sentence for
// both places, or `{ run, test }` where the run page (a run to resume) and Test step (a test
// to make again, with sample data) need different advice.
const ERRORS = {
  timeout: {
    what: "The server did not answer within the step's timeout.",
    fix: "Raise Request Timeout (under Advanced Configuration), or make the server answer sooner.",
  },
  connection_error: {
    what: "callout could not reach the server: its name did not resolve, or the connection was refused or broken.",
    fix: "Check the host and port in the URL, and that the server is up.",
  },
  transport_error: {
    what: "The exchange with the server broke off while sending the request or reading the answer.",
    fix: { run: "Check that the server is up, then resume the run.", test: "Test again; if it keeps failing, check the server." },
  },
  tls_error: {
    what: "The server's certificate could not be verified, so the secure connection (TLS) failed and nothing was sent.",
    fix: "Check that the server's certificate is valid for this host name, or have whoever runs callout trust its CA (CALLOUT_CA_BUNDLE).",
  },
  client_certificate_error: {
    what: "The server wants a client certificate that the step lacks, or refused the one sent.",
    fix: "Choose the right Client certificate under Advanced Configuration.",
  },
  response_too_large: {
    what: "The answer was larger than callout reads, so it stopped reading.",
    fix: "Ask the server for less (a smaller page of results).",
  },
  address_refused: {
    what: "callout does not call this address: it is on a private or local network, so nothing was sent.",
    fix: "Use a public address, or ask whoever runs callout to allow this network (CALLOUT_ALLOWED_NETWORKS).",
  },
  request_rejected: {
    what: "Once its references were filled in, the request broke a rule, so nothing was sent.",
    fix: "Check the values the references inserted (the technical detail names the rule).",
  },
  request_too_large: {
    what: "A filled-in body, URL or header grew past its size limit, so nothing was sent.",
    fix: "Send less data in this request.",
  },
  schema_mismatch: {
    what: "The server answered, but the answer does not match the step's Response Schema.",
    fix: "Compare the answer with the Response Schema and fix whichever is wrong (Use this response, after Test step, makes a schema from a real answer).",
  },
  response_too_deep: {
    what: "The answer's JSON is nested too deeply to check against the Response Schema.",
    fix: "Ask the server for a flatter answer, or remove the Response Schema.",
  },
  response_too_large_to_check: {
    what: "The answer is too large to check against the Response Schema.",
    fix: "Ask the server for less, or remove the Response Schema.",
  },
  oauth2_token_error: {
    what: "callout could not get an access token from the token URL.",
    fix: "Check the token URL, client ID and client secret under Authentication.",
  },
  unresolved_reference: {
    what: "A {{ }} reference had no value, so nothing was sent.",
    fix: {
      run: "Check the trigger payload and the earlier steps' outputs it reads (the technical detail names it).",
      test: "Add that field to the sample data, or fix the reference (the technical detail names it).",
    },
  },
  invalid_reference: {
    what: "A {{ }} reference could not be used where it stands, so nothing was sent.",
    fix: "Fix the reference named in the technical detail.",
  },
  secret_unavailable: {
    what: "callout could not read the organization's secrets: the server's secret key is missing or wrong.",
    fix: "Whoever runs callout must set CALLOUT_SECRET_KEY to the key the secrets were stored with.",
  },
  interrupted: {
    what: "The worker sending this step stopped during an attempt, again and again; callout stopped sending it.",
    fix: "Check the server's logs for what stops it, then resume the run.",
  },
  invalid_document: {
    what: "This workflow version cannot run with the server's current settings.",
    fix: { run: "Open the workflow, fix what Save reports, and publish again.", test: "Fix the fields marked in red, then test again." },
  },
};

// An HTTP status that is not 2xx: what it means, and what to do.
function statusMeaning(status) {
  if (status >= 500) return { what: "a problem on its side", fix: { run: "Check the server's logs, then resume the run.", test: "Try again later, or ask the API's owner." } };
  if (status === 429) return { what: "too many requests for now", fix: { run: "Add longer Retry Intervals, or send fewer requests.", test: "Wait, then test again." } };
  if (status === 401 || status === 403) return { what: "it did not accept the credentials", fix: "Check Authentication, the headers and the secrets they use." };
  if (status === 404 || status === 410) return { what: "nothing is at that address", fix: "Check the step's URL and the values inserted into it." };
  if (status >= 400) return { what: "it refused the request", fix: "Compare the URL, headers and body with what the API's documentation expects." };
  if (status >= 300) return { what: "a redirect, which was not followed", fix: "Use the address it points to, or turn on Follow redirects (under Advanced Configuration)." };
  return { what: "", fix: "See the technical detail." };
}

// What happened and what to do for a failed attempt's error ({type, message, status}), as said
// on the run page (`where: "run"`) or after Test step (`where: "test"`).
export function stepErrorWords(error, where) {
  let said = ERRORS[error.type];
  if (error.type === "http_status" && error.status) {
    const phrase = reason(error.status);
    const meaning = statusMeaning(error.status);
    const answered = `The server answered HTTP ${error.status}${phrase ? ` (${phrase})` : ""}`;
    said = { what: meaning.what ? `${answered}: ${meaning.what}.` : `${answered}.`, fix: meaning.fix };
  }
  if (!said) return { what: "The attempt did not succeed.", fix: "The technical detail says why." };
  return { what: said.what, fix: typeof said.fix === "string" ? said.fix : said.fix[where] };
}

// The error as recorded, folded: its type, message, and the failing response's status and body.
// `key` and `opened` keep it open across the run page's redraws.
export function technicalDetail(error, key, opened) {
  const body = error.body === undefined || error.body === null ? null : typeof error.body === "string" ? error.body : JSON.stringify(error.body, null, 2);
  return h(
    "details",
    { class: "technical", "data-key": key, open: opened.has(key) },
    h("summary", {}, "Technical detail"),
    h("p", {}, h("code", {}, error.type), ": ", error.message),
    error.status ? h("p", { class: "small" }, `HTTP status ${error.status}`) : null,
    body ? h("pre", { class: "code" }, error.body_truncated ? `${body}…` : body) : null,
  );
}

// ---- the words a status wears

// What each status word means where it appears (tooltips and the legend of the run page).
export const MEANINGS = {
  run: {
    pending: "Waiting for a worker to start its first step.",
    running: "A step is being sent, or waits for its next attempt.",
    completed: "Every step ran to its end.",
    failed: "The run stopped: one of its steps errored, and that step does not continue on error.",
    cancelled: "Someone cancelled the run; nothing more is sent.",
  },
  step: {
    pending: "Not started: an earlier step is still running.",
    running: "An attempt is being sent now.",
    waiting: "The last attempt failed; the next one is due at the time shown.",
    succeeded: "An attempt succeeded; later steps can read its response.",
    errored: "The step gave up: its last attempt failed and no retry was left, or retrying could not help.",
    skipped: "Not run, because the run stopped at an earlier step.",
    cancelled: "Not finished: the run was cancelled.",
  },
  attempt: {
    sending: "This request is being sent now.",
    succeeded: "The server answered with a 2xx status (and the response matched its schema).",
    failed: "This one request did not succeed. The step may try again; it errors only when no retry is left.",
    interrupted: "The worker stopped while sending; the request is sent again with the same Idempotency-Key.",
  },
};

// A badge whose tooltip says what the word means there (the legend says it for everyone).
export function explainedBadge(level, status) {
  const meaning = MEANINGS[level]?.[status];
  return h("span", { class: `badge status-${status}`, title: meaning ?? null }, status);
}

// Why the words differ: one failure reads "failed" for the run, "errored" for the step and
// "failed" for each attempt. Folded under the run's header.
export function statusLegend(key, opened) {
  const row = (level, status, label) => h("div", { class: "legend-row" }, h("dt", {}, label, " ", h("span", { class: `badge status-${status}` }, status)), h("dd", {}, MEANINGS[level][status]));
  return h(
    "details",
    { class: "legend", "data-key": key, open: opened.has(key) },
    h("summary", {}, "Failed, errored, failed: what the words mean"),
    h(
      "dl",
      {},
      row("run", "failed", "Run"),
      row("step", "errored", "Step"),
      row("attempt", "failed", "Attempt"),
      row("step", "waiting", "Step"),
    ),
    h("p", { class: "small muted" }, "So one failure reads: the attempts failed, then the step errored (no retry left), so the run failed."),
  );
}

// One sentence on why a failed run failed, naming the step and its attempts.
export function whyTheRunFailed(run) {
  const errored = [...run.steps].reverse().find((s) => s.status === "errored");
  if (!errored) return null;
  const total = errored.attempts_total;
  const tries = total === 0 ? "it could not be sent" : total === 1 ? "its only attempt failed" : `all ${total} of its attempts failed`;
  return `This run failed because step ${errored.id} errored (${tries}) and does not continue on error.`;
}

// ---- a form's field problems, as a sentence about the field its label names

// The API's own words for a value it refused (pydantic's "Input should be ..."), said plainly.
// `unit` names what the number counts ("requests", "seconds"); a message it does not know is
// kept, as a sentence.
export function fieldProblem(message, unit = "") {
  const text = String(message ?? "");
  const of = (n) => (unit ? `${n} ${unit}` : n);
  const least = /greater than or equal to (-?[\d.]+)/.exec(text);
  if (least) return `Must be at least ${of(least[1])}.`;
  const above = /greater than (-?[\d.]+)/.exec(text);
  if (above) return `Must be more than ${of(above[1])}.`;
  const most = /less than or equal to (-?[\d.]+)/.exec(text);
  if (most) return `Must be at most ${of(most[1])}.`;
  const below = /less than (-?[\d.]+)/.exec(text);
  if (below) return `Must be less than ${of(below[1])}.`;
  if (/valid integer|int_parsing|fractional part/.test(text)) return "Must be a whole number.";
  if (/valid number|float_parsing/.test(text)) return "Must be a number.";
  if (/^Field required/.test(text)) return "This is required.";
  const range = /^must be (.+?), got (.+)$/.exec(text);
  if (range) return `Must be ${range[1]}${unit ? ` ${unit}` : ""}, not ${range[2]}.`;
  const said = /^is /.test(text) ? `This ${text}` : text.charAt(0).toUpperCase() + text.slice(1);
  return said.endsWith(".") ? said : `${said}.`;
}

// ---- a host's last failure, as delivery control records it ("http_status 503", "timeout")

// The same first sentence the run page says for that error type (stepErrorWords).
export function hostErrorWords(lastError) {
  if (!lastError) return null;
  const [type, status] = String(lastError).trim().split(/\s+/);
  const number = Number(status);
  return stepErrorWords({ type, status: Number.isInteger(number) ? number : undefined }, "run").what;
}
