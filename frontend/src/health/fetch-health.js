// Read the server's health endpoints. /healthz: any 2xx means the process is up (a JSON
// body may add details such as the version). /readyz answers 503 with the same JSON shape
// when a dependency is down, so its body is read whatever the status.

const TIMEOUT_MS = 8000;

export class HealthError extends Error {}

async function getJson(url, signal) {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), TIMEOUT_MS);
  const onAbort = () => timeout.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    let response;
    try {
      response = await fetch(url, {
        headers: { Accept: 'application/json' },
        cache: 'no-store',
        credentials: 'same-origin',
        signal: timeout.signal,
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new HealthError(
        timeout.signal.aborted ? `${url} did not answer in time` : `could not reach ${url}`,
      );
    }
    let body = null;
    try {
      body = await response.json();
    } catch {
      // Not JSON: the caller decides whether the status code alone is enough.
    }
    return { status: response.status, body };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

async function fetchLive(signal) {
  const { status, body } = await getJson('/healthz', signal);
  return { ok: status >= 200 && status < 300, httpStatus: status, body };
}

async function fetchReady(signal) {
  const { status, body } = await getJson('/readyz', signal);
  if (!body || typeof body !== 'object' || typeof body.status !== 'string') {
    throw new HealthError(`/readyz answered ${status} without the expected JSON`);
  }
  const checks =
    body.checks && typeof body.checks === 'object' && !Array.isArray(body.checks) ? body.checks : {};
  return {
    ok: body.status === 'ready' && status >= 200 && status < 300,
    httpStatus: status,
    status: body.status,
    checks,
  };
}

/**
 * Check both endpoints independently. Returns { live, ready }, where each is either the
 * parsed result or { error } (a HealthError) when that endpoint could not be read.
 * Rejects only when `signal` aborts.
 */
export async function fetchHealth(signal) {
  const settle = (promise) =>
    promise.catch((error) => {
      if (signal?.aborted) throw error;
      return { error: error instanceof HealthError ? error : new HealthError(String(error?.message ?? error)) };
    });
  const [live, ready] = await Promise.all([settle(fetchLive(signal)), settle(fetchReady(signal))]);
  return { live, ready };
}
