// One JSON request to the same-origin API. Resolves with { status, data } for 2xx answers
// (data is null for an empty body) and rejects with an ApiError otherwise.

import { errorFromResponse, networkError } from './api-error.js';

const TIMEOUT_MS = 20000;

/**
 * @param {string} path  e.g. "/api/auth/login"
 * @param {object} [options]
 * @param {string} [options.method]  GET by default
 * @param {unknown} [options.body]  sent as JSON when given
 * @param {string} [options.token]  access token for the Authorization header
 * @param {AbortSignal} [options.signal]
 * @param {boolean} [options.keepalive]  finish even if the page is closed or navigated away meanwhile
 */
export async function requestJson(path, { method = 'GET', body, token, signal, keepalive = false } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;

  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), TIMEOUT_MS);
  const onAbort = () => timeout.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
        cache: 'no-store',
        keepalive,
        signal: timeout.signal,
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw networkError(timeout.signal.aborted);
    }
    let data = null;
    const text = await response.text().catch(() => '');
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        // Not JSON (a proxy's error page, say): the status code has to do.
      }
    }
    if (!response.ok) throw errorFromResponse(response, data);
    return { status: response.status, data };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}
