// Calls of the history API (docs/history.md "API"): timeline, text at a version, checkpoints,
// restore, per-line authorship, contributors and code-anchored comments.

import { ApiError, errorFromResponse, networkError } from '../api/api-error.js';
import { authRequest } from '../auth/auth-request.js';
import { getAccessToken } from '../auth/session.js';

const base = (workspaceId, fileId) => `/api/workspaces/${workspaceId}/files/${fileId}`;

export function historyApi(workspaceId, signal) {
  const get = async (path) => (await authRequest(path, { signal })).data;
  const send = async (path, method, body) => (await authRequest(path, { method, body, signal })).data;
  return {
    timeline: (fileId, { before = null, limit = 50 } = {}) =>
      get(`${base(workspaceId, fileId)}/history?limit=${limit}${before ? `&before=${before}` : ''}`),
    version: (fileId, version) => get(`${base(workspaceId, fileId)}/history/${version}`),
    addCheckpoint: (fileId, name) => send(`${base(workspaceId, fileId)}/checkpoints`, 'POST', { name }),
    restore: (fileId, version) => send(`${base(workspaceId, fileId)}/restore`, 'POST', { version }),
    authorship: (fileId) => get(`${base(workspaceId, fileId)}/authorship`),
    contributors: (fileId) => get(`${base(workspaceId, fileId)}/contributors`),
    trailers: (fileId) => getText(`${base(workspaceId, fileId)}/contributors?format=trailers`, signal),
    comments: (fileId) => get(`${base(workspaceId, fileId)}/comments`),
    addComment: (fileId, anchor, body) => send(`${base(workspaceId, fileId)}/comments`, 'POST', { anchor, body }),
    setResolved: (fileId, commentId, resolved) =>
      send(`${base(workspaceId, fileId)}/comments/${commentId}`, 'PATCH', { resolved }),
  };
}

/** A text/plain answer (the Co-authored-by trailers). */
async function getText(path, signal) {
  const token = await getAccessToken();
  if (!token) throw new ApiError(401, 'not_authenticated', 'Sign in to continue.');
  let response;
  try {
    response = await fetch(path, { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store', signal });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw networkError(false);
  }
  const text = await response.text().catch(() => '');
  if (!response.ok) {
    let body = null;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: the status code has to do
    }
    throw errorFromResponse(response, body);
  }
  return text;
}

/** UTF-16 offset in `text` of the code point index `points` (the server counts code points). */
export function utf16Offset(text, points) {
  let offset = 0;
  for (let seen = 0; seen < points && offset < text.length; seen += 1) {
    const code = text.charCodeAt(offset);
    offset += code >= 0xd800 && code <= 0xdbff && offset + 1 < text.length ? 2 : 1;
  }
  return offset;
}

/** Code point index of the UTF-16 offset `offset` in `text`. */
export function codePointIndex(text, offset) {
  let points = 0;
  for (let i = 0; i < offset && i < text.length; points += 1) {
    const code = text.charCodeAt(i);
    i += code >= 0xd800 && code <= 0xdbff && i + 1 < text.length ? 2 : 1;
  }
  return points;
}
