// Errors of the JSON API, with a message that can be shown to the user as it is.
// The server answers errors as {"error": {"code", "message", "request_id"}}.

const MAX_MESSAGE_LENGTH = 300;

export class ApiError extends Error {
  /**
   * @param {number} status  HTTP status, or 0 when the server could not be reached
   * @param {string} code  machine-readable code from the server (or a local one)
   * @param {string} message  human text, safe to show (render it with textContent)
   * @param {{requestId?: string, retryAfter?: number}} [extra]
   */
  constructor(status, code, message, { requestId = '', retryAfter = 0 } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.requestId = requestId;
    this.retryAfter = retryAfter;
  }
}

/** Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), at least 1. */
export function parseRetryAfter(value, now = Date.now()) {
  if (!value) return 0;
  const seconds = /^\d+$/.test(value.trim()) ? Number(value) : (Date.parse(value) - now) / 1000;
  return Number.isFinite(seconds) ? Math.max(1, Math.ceil(seconds)) : 0;
}

function fallbackMessage(status) {
  if (status === 401) return 'Please sign in again.';
  if (status === 403) return 'You are not allowed to do that.';
  if (status === 404) return 'That was not found on the server.';
  if (status === 413) return 'That is too large for the server.';
  if (status >= 500) return `The server had a problem (HTTP ${status}). Try again in a moment.`;
  return `The request failed (HTTP ${status}).`;
}

/** Build the error for a non-2xx response whose body (parsed JSON or null) is `body`. */
export function errorFromResponse(response, body) {
  const envelope = body && typeof body === 'object' && body.error && typeof body.error === 'object' ? body.error : {};
  const code = typeof envelope.code === 'string' ? envelope.code : `http_${response.status}`;
  const requestId = typeof envelope.request_id === 'string' ? envelope.request_id : '';
  if (response.status === 429) {
    const retryAfter = parseRetryAfter(response.headers.get('Retry-After'));
    const message = retryAfter
      ? `Too many attempts, try again in ${retryAfter} s.`
      : 'Too many attempts, try again in a moment.';
    return new ApiError(429, code, message, { requestId, retryAfter });
  }
  let message = typeof envelope.message === 'string' && envelope.message.trim() ? envelope.message.trim() : '';
  if (message.length > MAX_MESSAGE_LENGTH) message = `${message.slice(0, MAX_MESSAGE_LENGTH - 1)}…`;
  return new ApiError(response.status, code, message || fallbackMessage(response.status), { requestId });
}

export function networkError(timedOut) {
  return new ApiError(
    0,
    timedOut ? 'timeout' : 'network_error',
    timedOut
      ? 'The server did not answer in time. Try again.'
      : 'Could not reach the server. Check your connection and try again.',
  );
}

/** A message for any thrown value. */
export function messageOf(error) {
  if (error instanceof ApiError) return error.message;
  return 'Something went wrong. Try again.';
}
