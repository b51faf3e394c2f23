// The result of Test step: the outcome in plain words, the request as sent (secrets
// redacted), the response, and "Use this response" to make the Response Schema from it.

import { badge, h } from "../dom.js";
import { notice, stepErrorWords } from "../messages.js";
import { inferSchema } from "./schema-from-sample.js";

function pairs(headers) {
  return h("table", { class: "table compact wrap" }, h("tbody", {}, headers.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, h("code", {}, v))))));
}

// The response body as JSON (an object or a list), or undefined when it is not JSON or was cut.
function jsonBody(result) {
  const response = result.response;
  if (!response || response.body_truncated) return undefined;
  const body = result.output?.body;
  if (body !== null && typeof body === "object") return body;
  try {
    const parsed = JSON.parse(response.body);
    return parsed !== null && typeof parsed === "object" ? parsed : undefined;
  } catch {
    return undefined;
  }
}

// What a run would do after this failure, given the step's Retry Intervals.
function inARun(retryable, retries) {
  if (!retryable) return "A run would not retry this failure.";
  if (!retries) return "A run would stop here: this failure may be retried, but the step has no Retry Intervals.";
  return `A run would try again (up to ${retries} more time${retries > 1 ? "s" : ""}, after its Retry Intervals).`;
}

// `retries`: how many Retry Intervals the tested step has.
export function showAttempt(out, result, { useSchema, retries }) {
  const parts = [h("p", { class: "outcome" }, badge(result.outcome), ` in ${result.duration_ms} ms`)];
  if (result.error) {
    const { what, fix } = stepErrorWords(result.error, "test");
    parts.push(notice("error", { what, todo: `${fix} ${inARun(result.retryable, retries)}`, detail: [`${result.error.type}: ${result.error.message}`] }));
  }
  const body = jsonBody(result);
  if (body !== undefined) {
    const said = h("p", { class: "muted small", role: "status" });
    const use = h("button", { type: "button", class: "use-response" }, "Use this response");
    use.addEventListener("click", () => {
      useSchema(inferSchema(body));
      said.textContent = "Response Schema made from this response: edit it as you need.";
    });
    parts.push(h("div", { class: "use-response-row" }, use, h("span", { class: "muted small" }, "as the Response Schema (types and required keys from this answer)")), said);
  }
  if (result.request) {
    parts.push(
      h("h4", {}, "Request as sent (secrets redacted)"),
      h("p", { class: "wrap" }, h("code", {}, `${result.request.method} ${result.request.url}`)),
      pairs(result.request.headers),
      result.request.body ? h("pre", { class: "code" }, result.request.body) : null,
    );
  }
  if (result.response) {
    parts.push(h("h4", {}, `Response: ${result.response.status}`), pairs(result.response.headers), h("pre", { class: "code" }, result.response.body || "(empty)"));
  }
  out.replaceChildren(...parts.filter(Boolean));
}
