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

export async function api(method, path, body) {
  const options = { method, credentials: "same-origin", headers: { "X-CSRF-Token": csrf } };
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
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}
