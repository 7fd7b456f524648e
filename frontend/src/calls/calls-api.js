// HTTP side of calls (see the calls contract in docs/api.md): start, answer, end, history,
// and the ICE servers for one call. Call objects are normalised here so the UI reads one shape.

import { authRequest } from '../auth/auth-request.js';

/** A participant of a call: who, and where they are in it (ringing, joined, left, ...). */
function normaliseParticipant(raw) {
  const user = raw?.user && typeof raw.user === 'object' ? raw.user : raw ?? {};
  return {
    user_id: String(raw?.user_id ?? user.id ?? ''),
    username: typeof user.username === 'string' ? user.username : '',
    display_name: typeof user.display_name === 'string' ? user.display_name : '',
    avatar_color: user.avatar_color,
    state: typeof raw?.state === 'string' ? raw.state : '',
  };
}

/** The caller is an id or a user object, depending on the frame; always give {user_id, ...}. */
function normaliseCaller(raw, participants) {
  if (raw && typeof raw === 'object') return normaliseParticipant({ ...raw, user_id: raw.user_id ?? raw.id });
  const id = raw == null ? '' : String(raw);
  return participants.find((p) => p.user_id === id) ?? { user_id: id, username: '', display_name: '', state: '' };
}

/** One call object in the shape the UI uses. */
export function normaliseCall(raw) {
  if (!raw || typeof raw !== 'object' || typeof raw.id !== 'string') return null;
  const participants = Array.isArray(raw.participants) ? raw.participants.map(normaliseParticipant) : [];
  return {
    id: raw.id,
    state: String(raw.state ?? ''),
    media: raw.media === 'video' ? 'video' : 'audio',
    caller: normaliseCaller(raw.caller ?? raw.caller_id, participants),
    participants,
    conversation_id: raw.conversation_id ?? null,
    workspace_id: raw.workspace_id ?? null,
    started_at: raw.started_at ?? raw.created_at ?? null,
    answered_at: raw.answered_at ?? null,
    ended_at: raw.ended_at ?? null,
    end_reason: raw.end_reason ?? null,
  };
}

/** The call object in an API answer or an event frame ({call: {...}} or the call itself). */
export function callOf(body) {
  if (!body || typeof body !== 'object') return null;
  return normaliseCall(body.call && typeof body.call === 'object' ? body.call : body);
}

/**
 * Start a call. `target` is {callee: username, conversation_id?} for a person, or
 * {workspace_id} for everyone present in a workspace.
 */
export async function createCall(target, media) {
  const body = { media };
  if (target.workspace_id) body.workspace_id = target.workspace_id;
  else {
    body.callee = target.callee;
    if (target.conversation_id) body.conversation_id = target.conversation_id;
  }
  const { data } = await authRequest('/api/calls', { method: 'POST', body });
  return callOf(data);
}

/** accept | decline | cancel | end. */
export async function callAction(callId, action) {
  const { data } = await authRequest(`/api/calls/${encodeURIComponent(callId)}/${action}`, { method: 'POST' });
  return callOf(data);
}

export async function fetchCall(callId) {
  const { data } = await authRequest(`/api/calls/${encodeURIComponent(callId)}`);
  return callOf(data);
}

/** The signed-in user's call history, newest first. */
export async function fetchHistory({ signal } = {}) {
  const { data } = await authRequest('/api/calls', { signal });
  const list = Array.isArray(data) ? data : Array.isArray(data?.calls) ? data.calls : Array.isArray(data?.items) ? data.items : [];
  return list.map(normaliseCall).filter(Boolean);
}

/**
 * ICE servers for one call, fetched fresh every time (TURN credentials expire). Only what
 * the server lists is used: there is never a public STUN default.
 */
export async function fetchIceServers() {
  const { data } = await authRequest('/api/rtc/ice-servers');
  const list = Array.isArray(data?.ice_servers) ? data.ice_servers : [];
  return list
    .filter((server) => server && (typeof server.urls === 'string' || Array.isArray(server.urls)))
    .map((server) => {
      const entry = { urls: server.urls };
      if (typeof server.username === 'string') entry.username = server.username;
      if (typeof server.credential === 'string') entry.credential = server.credential;
      return entry;
    });
}
