// Calls to the /v1 API with the session cookie and its CSRF token.

const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

export class ApiError extends Error {
  constructor(status, body) {
    const error = body?.error ?? { code: "http_error", message: `HTTP ${status}`, details: [] };
    super(error.message);
    this.status = status;
    this.code = error.code;
    this.details = error.details ?? [];
  }
}

// `headers`: more request headers (e.g. an Idempotency-Key); the CSRF token is always sent.
// A 401 sends the page to sign in; any other answer that is not 2xx throws an ApiError.
export async function api(method, path, body, { headers = {} } = {}) {
  const options = { method, credentials: "same-origin", headers: { ...headers, "X-CSRF-Token": csrf } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  if (response.status === 401) {
    window.location.assign("/sign-in");
    throw new ApiError(401, await response.json().catch(() => null));
  }
  const text = await response.text();
  if (!response.ok) throw new ApiError(response.status, errorBody(text));
  return text ? JSON.parse(text) : null;
}

// An error answer's JSON; null for one that is not JSON (a proxy's HTML page, say), so the
// ApiError still carries the status.
function errorBody(text) {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}
