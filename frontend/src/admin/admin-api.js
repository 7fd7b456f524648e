// Admin HTTP API (docs/api.md "Accounts" and docs/social.md): users, invites, instance
// settings, health. The server refuses members; these pages only show what it answers.

import { authRequest } from '../auth/auth-request.js';

const get = async (path, signal) => (await authRequest(path, { signal })).data ?? {};

/** One page of users: {users, next} where `next` is the query for the following page (or null). */
export async function listUsers(q, next, signal) {
  const query = new URLSearchParams({ limit: '50' });
  if (q) query.set('q', q);
  if (next) for (const [key, value] of Object.entries(next)) query.set(key, String(value));
  const data = await get(`/api/admin/users?${query}`, signal);
  let following = null;
  if (data.next_cursor != null) following = { cursor: data.next_cursor };
  else if (data.next_offset != null) following = { offset: data.next_offset };
  return { users: Array.isArray(data.users) ? data.users : [], next: following };
}

export async function updateUser(id, fields) {
  return (await authRequest(`/api/admin/users/${encodeURIComponent(id)}`, { method: 'PATCH', body: fields })).data ?? {};
}

export async function resetLink(id) {
  return (await authRequest(`/api/admin/users/${encodeURIComponent(id)}/reset-link`, { method: 'POST' })).data ?? {};
}

export async function listInvites(signal) {
  const data = await get('/api/admin/invites', signal);
  return Array.isArray(data.invites) ? data.invites : [];
}

export async function createInvite(body) {
  return (await authRequest('/api/admin/invites', { method: 'POST', body })).data ?? {};
}

export async function revokeInvite(id) {
  await authRequest(`/api/admin/invites/${encodeURIComponent(id)}`, { method: 'DELETE' });
}

export const getSettings = (signal) => get('/api/admin/settings', signal);

export async function patchSettings(fields) {
  return (await authRequest('/api/admin/settings', { method: 'PATCH', body: fields })).data ?? {};
}

export const getHealth = (signal) => get('/api/admin/health', signal);
