// The chat HTTP API (docs/api.md "Conversations"), one function per endpoint.

import { authRequest } from '../auth/auth-request.js';

const C = '/api/conversations';

export async function listConversations(signal) {
  return (await authRequest(C, { signal })).data;
}

export async function getConversation(conversationId, signal) {
  return (await authRequest(`${C}/${conversationId}`, { signal })).data;
}

/** Opens (or finds) the 1:1 conversation with `username`. */
export async function openConversation(username) {
  return (await authRequest(C, { method: 'POST', body: { username } })).data;
}

/** The newest page, or the page just before `before` (a seq). */
export async function listMessages(conversationId, { before, limit = 50 } = {}, signal) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (before != null) query.set('before', String(before));
  return (await authRequest(`${C}/${conversationId}/messages?${query}`, { signal })).data;
}

export async function searchUsers(prefix, signal) {
  const query = new URLSearchParams({ q: prefix });
  return (await authRequest(`/api/users/search?${query}`, { signal })).data.users;
}

export async function blockUser(username) {
  await authRequest(`/api/users/${encodeURIComponent(username)}/block`, { method: 'POST' });
}

export async function unblockUser(username) {
  await authRequest(`/api/users/${encodeURIComponent(username)}/block`, { method: 'DELETE' });
}
