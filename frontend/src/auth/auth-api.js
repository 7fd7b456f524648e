// The accounts endpoints of the HTTP API, one function each.

import { requestJson } from '../api/request-json.js';
import { authRequest } from './auth-request.js';
import { signInWith } from './session.js';

const REGISTRATION_MODES = new Set(['open', 'invite', 'closed']);

/** "open", "invite" or "closed". */
export async function getRegistrationMode(signal) {
  const { data } = await requestJson('/api/auth/config', { signal });
  return REGISTRATION_MODES.has(data?.registration) ? data.registration : 'closed';
}

export async function isInviteValid(token, signal) {
  const { data } = await requestJson(`/api/auth/invites/${encodeURIComponent(token)}`, { signal });
  return data?.valid === true;
}

export async function signUp({ email, username, password, displayName, invite }) {
  const body = { email, username, password, display_name: displayName };
  if (invite) body.invite = invite;
  return requestJson('/api/auth/signup', { method: 'POST', body });
}

/** Sign in; the session module takes the tokens. */
export async function logIn(login, password) {
  const { data } = await requestJson('/api/auth/login', { method: 'POST', body: { login, password } });
  if (!signInWith(data)) throw new Error('The server answered the sign-in without a token.');
}

export async function isSetupNeeded(signal) {
  const { data } = await requestJson('/api/auth/setup', { signal });
  return data?.needed === true;
}

/** Create the first admin. Resolves true when the answer also signed the admin in. */
export async function completeSetup({ token, email, username, password, displayName }) {
  const { data } = await requestJson('/api/auth/setup', {
    method: 'POST',
    body: { token, email, username, password, display_name: displayName },
  });
  return data?.access_token ? signInWith(data) : false;
}

export function verifyEmail(token, signal) {
  return requestJson('/api/auth/verify-email', { method: 'POST', body: { token }, signal });
}

export function resendVerification() {
  return authRequest('/api/auth/verify-email/resend', { method: 'POST' });
}

export function requestPasswordReset(email) {
  return requestJson('/api/auth/password/forgot', { method: 'POST', body: { email } });
}

export function resetPassword(token, password) {
  return requestJson('/api/auth/password/reset', { method: 'POST', body: { token, password } });
}

export function changePassword(currentPassword, newPassword) {
  return authRequest('/api/auth/password/change', {
    method: 'POST',
    body: { current_password: currentPassword, new_password: newPassword },
  });
}

/** The signed-in user's sessions (the server's list, or [] if it sent something else). */
export async function listSessions(signal) {
  const { data } = await authRequest('/api/auth/sessions', { signal });
  const rows = Array.isArray(data) ? data : Array.isArray(data?.sessions) ? data.sessions : [];
  return rows.filter((row) => row && typeof row === 'object' && row.id != null);
}

export function revokeSession(id) {
  return authRequest(`/api/auth/sessions/${encodeURIComponent(id)}`, { method: 'DELETE' });
}

export function revokeOtherSessions() {
  return authRequest('/api/auth/sessions/revoke-others', { method: 'POST' });
}

export async function getMe(signal) {
  const { data } = await authRequest('/api/me', { signal });
  return data;
}

/** PATCH /api/me with some of {display_name, bio, avatar_color}; resolves with the new profile. */
export async function updateMe(fields) {
  const { data } = await authRequest('/api/me', { method: 'PATCH', body: fields });
  return data;
}
