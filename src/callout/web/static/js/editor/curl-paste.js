// "Paste cURL": a command from an API's docs becomes the step's request. The server reads it
// (POST /v1/curl-imports) and answers the step, the secrets it turned into references (to be
// stored by the author: their values are never sent back) and notes on what it left out.

import { api } from "../api.js";
import { h } from "../dom.js";
import { errorNotice, words } from "../messages.js";

// The fields a cURL command describes; the step's others (id, schema, retries...) are kept.
const REQUEST_FIELDS = ["url", "method", "query", "headers", "body", "body_type", "content_type", "auth", "client_certificate", "follow_redirects"];

export function fillFromCurl(step, imported) {
  for (const key of REQUEST_FIELDS) delete step[key];
  for (const [key, value] of Object.entries(imported ?? {})) {
    if (key !== "id" && key !== "action") step[key] = value;
  }
  step.headers = step.headers ?? [];
}

// What the last import said, shown after the panel is drawn again with the filled step.
export function curlReport(answer, secrets) {
  const stored = new Set(secrets.map((s) => s.name));
  const missing = (answer.secrets ?? []).filter((s) => !(s.stored ?? stored.has(s.name)));
  return h(
    "div",
    { class: "banner banner-ok curl-report", role: "status" },
    h("p", {}, "Filled from the cURL command. Check the fields, then test the step."),
    missing.length
      ? [
          h("p", {}, "Store these secrets before testing; the command's values were not kept:"),
          h("ul", {}, missing.map((s) => h("li", {}, h("code", {}, s.name), " (found in ", words(s.found_in), ")"))),
          h("p", {}, h("a", { href: "/secrets", target: "_blank", rel: "noopener" }, "Open the Secrets page"), " to add them."),
        ]
      : null,
    answer.notes?.length ? [h("p", {}, "Notes:"), h("ul", {}, answer.notes.map((n) => h("li", {}, words(n))))] : null,
  );
}

export function curlPaste({ doc, onImported, report }) {
  const command = h("textarea", { id: "curl-command", rows: 4, class: "code", spellcheck: "false", placeholder: "curl https://api.example.com/v1/things -H 'Authorization: Bearer …'" });
  const out = h("div", { class: "curl-out", "aria-live": "polite" }, report ?? null);
  const fill = h("button", { type: "button" }, "Fill from cURL");
  fill.addEventListener("click", async () => {
    if (!command.value.trim()) {
      out.replaceChildren(h("p", { class: "field-error" }, "Paste a cURL command first."));
      return;
    }
    fill.disabled = true;
    try {
      const answer = await api("POST", "/v1/curl-imports", { command: command.value });
      onImported(answer);
    } catch (error) {
      out.replaceChildren(errorNotice(error, doc));
    } finally {
      fill.disabled = false;
    }
  });
  return h(
    "details",
    { class: "advanced curl", open: Boolean(report) },
    h("summary", {}, "Paste cURL"),
    h("p", { class: "muted small" }, "Replaces the URL, method, query, headers, body and authentication with the command's."),
    h("label", { for: "curl-command" }, "cURL command"),
    command,
    h("div", { class: "curl-actions" }, fill),
    out,
  );
}
