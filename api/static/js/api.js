// The gateway's REST API as the console uses it: the session cookie does the authentication
// (the browser sends it; scripts cannot read it), and every unsafe request carries the CSRF
// value the session body gave us. The CSRF value lives in memory only.

let session = null; // {name, role, csrf, expires_at}
let onExpired = () => {};

export class ApiError extends Error {
  constructor(status, detail, retryAfter = null) {
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

export function currentSession() {
  return session;
}

/** Called once with the handler for a session that ended under us (a 401 on any request). */
export function whenExpired(fn) {
  onExpired = fn;
}

async function detailOf(res) {
  try {
    const body = await res.json();
    return typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
  } catch {
    return res.statusText;
  }
}

/** A JSON request to the API; throws ApiError on a non-2xx answer. */
export async function request(method, path, body = undefined) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD" && session?.csrf) {
    headers["X-CSRF-Token"] = session.csrf;
  }
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
  });
  if (res.status === 401 && session && path !== "/api/v1/session") {
    session = null;
    onExpired();
  }
  if (!res.ok) {
    throw new ApiError(res.status, await detailOf(res), res.headers.get("Retry-After"));
  }
  return res.status === 204 ? null : res.json();
}

export const get = (path) => request("GET", path);
export const post = (path, body = {}) => request("POST", path, body);

/** Exchange a login token for the session cookie; the token is not kept anywhere. */
export async function login(token) {
  session = null;
  session = await request("POST", "/api/v1/session", { token });
  return session;
}

/** The session of the cookie the browser already holds, or null. */
export async function resume() {
  try {
    session = await request("GET", "/api/v1/session");
  } catch (err) {
    if (err.status === 401) return null;
    throw err;
  }
  return session;
}

export async function logout() {
  try {
    await request("DELETE", "/api/v1/session");
  } finally {
    session = null;
  }
}
