// The assistant endpoints (/api/ai/*). The browser only ever talks to collabcode: the
// model's address and key stay on the server.

import { ApiError, errorFromResponse, networkError } from '../api/api-error.js';
import { authRequest } from '../auth/auth-request.js';
import { getAccessToken, refreshSession } from '../auth/session.js';
import { readSse } from './sse.js';

/**
 * What the server says about the assistant for this workspace:
 * {enabled, provider, chat_model, completion_model, reason, how_to_enable}.
 */
export async function fetchStatus(workspaceId, { signal } = {}) {
  const query = workspaceId ? `?workspace_id=${encodeURIComponent(workspaceId)}` : '';
  const { data } = await authRequest(`/api/ai/status${query}`, { signal });
  return normaliseStatus(data);
}

function text(value, max = 2000) {
  return typeof value === 'string' && value.trim() ? value.trim().slice(0, max) : null;
}

export function normaliseStatus(data) {
  return {
    enabled: data?.enabled === true,
    provider: text(data?.provider, 100),
    chatModel: text(data?.chat_model, 200),
    completionModel: text(data?.completion_model, 200),
    reason: text(data?.reason),
    howToEnable: text(data?.how_to_enable),
  };
}

/**
 * One ghost-text completion. Resolves with the text (possibly empty); rejects with an
 * ApiError (409 "superseded" when a newer request of ours replaced it, 429, 503 …) or an
 * AbortError when `signal` aborts.
 */
export async function requestCompletion(body, { signal } = {}) {
  const { data } = await authRequest('/api/ai/complete', { method: 'POST', body, signal });
  return typeof data?.completion === 'string' ? data.completion : '';
}

/** POST with the access token; on 401 refresh once and try again (like authRequest). */
async function authFetch(path, init) {
  const send = (token) =>
    fetch(path, {
      ...init,
      headers: { ...init.headers, Authorization: `Bearer ${token}` },
      credentials: 'same-origin',
      cache: 'no-store',
    });
  const token = await getAccessToken();
  if (!token) throw new ApiError(401, 'not_authenticated', 'Sign in to continue.');
  let response = await send(token);
  if (response.status === 401 && (await refreshSession({ staleToken: token }))) {
    const fresh = await getAccessToken();
    if (fresh) response = await send(fresh);
  }
  return response;
}

/**
 * Stream one chat answer. Calls `onDelta(text)` for each piece as it arrives and resolves
 * with the finish reason. Errors before the stream starts are the server's JSON errors
 * (ApiError); an `error` event in the stream rejects with an ApiError too. Aborting
 * `signal` closes the connection (the server then cancels the model's request) and
 * rejects with an AbortError.
 */
export async function streamChat(body, { signal, onDelta }) {
  let response;
  try {
    response = await authFetch('/api/ai/chat', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
      body: JSON.stringify(body),
      signal,
    });
  } catch (error) {
    if (signal?.aborted || error instanceof ApiError) throw error;
    throw networkError(false);
  }
  if (!response.ok) {
    const data = await response.json().catch(() => null);
    throw errorFromResponse(response, data);
  }
  if (!response.body || !/^text\/event-stream/.test(response.headers.get('Content-Type') ?? '')) {
    throw new ApiError(502, 'bad_stream', 'The server sent an answer the assistant panel cannot read.');
  }
  try {
    for await (const { event, data } of readSse(response.body)) {
      let payload;
      try {
        payload = JSON.parse(data);
      } catch {
        throw new ApiError(502, 'bad_stream', 'The answer stream was cut or garbled. Try again.');
      }
      if (event === 'delta') {
        if (typeof payload?.text === 'string' && payload.text) onDelta(payload.text);
      } else if (event === 'done') {
        return typeof payload?.finish_reason === 'string' ? payload.finish_reason : 'stop';
      } else if (event === 'error') {
        const message = typeof payload?.message === 'string' && payload.message ? payload.message.slice(0, 300) : 'The assistant stopped with an error.';
        throw new ApiError(502, typeof payload?.code === 'string' ? payload.code : 'assistant_error', message);
      }
    }
  } catch (error) {
    if (signal?.aborted || error instanceof ApiError) throw error;
    throw new ApiError(0, 'network_error', 'The connection to the server was lost during the answer. Try again.');
  }
  throw new ApiError(502, 'bad_stream', 'The answer ended before it was complete. Try again.');
}
