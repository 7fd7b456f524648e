// HTTP calls of the social area (docs/social.md): profiles, follows, the dashboard, the
// activity feed and the own avatar. Every call goes through authRequest (Bearer + one retry).

import { ApiError, errorFromResponse, networkError } from '../api/api-error.js';
import { authRequest } from '../auth/auth-request.js';
import { getAccessToken } from '../auth/session.js';

const enc = encodeURIComponent;

export async function getProfile(username, signal) {
  const { data } = await authRequest(`/api/users/${enc(username)}`, { signal });
  return data ?? {};
}

export async function follow(username) {
  const { data } = await authRequest(`/api/users/${enc(username)}/follow`, { method: 'POST' });
  return data ?? {};
}

export async function unfollow(username) {
  const { data } = await authRequest(`/api/users/${enc(username)}/follow`, { method: 'DELETE' });
  return data ?? {};
}

/** One page of followers or following: {users, next_cursor}. */
export async function listFollows(username, which, cursor, signal) {
  const query = cursor ? `?cursor=${enc(cursor)}` : '';
  const { data } = await authRequest(`/api/users/${enc(username)}/${which}${query}`, { signal });
  return { users: Array.isArray(data?.users) ? data.users : [], nextCursor: data?.next_cursor ?? null };
}

export async function getDashboard(signal) {
  const { data } = await authRequest('/api/dashboard', { signal });
  return data ?? {};
}

export async function getActivity(before, signal) {
  const query = new URLSearchParams({ limit: '20' });
  if (before) query.set('before', String(before));
  const { data } = await authRequest(`/api/activity?${query}`, { signal });
  return { items: Array.isArray(data?.items) ? data.items : [], nextCursor: data?.next_cursor ?? null };
}

export async function updateProfile(fields) {
  const { data } = await authRequest('/api/me/profile', { method: 'PATCH', body: fields });
  return data ?? {};
}

export async function removeAvatar() {
  const { data } = await authRequest('/api/me/avatar', { method: 'DELETE' });
  return data ?? {};
}

/**
 * Upload the raw image bytes of `file` (PUT /api/me/avatar) with progress reports.
 * XMLHttpRequest rather than fetch: fetch cannot report upload progress.
 * @param {File} file  @param {(fraction: number) => void} onProgress
 */
export async function uploadAvatar(file, onProgress) {
  const token = await getAccessToken();
  if (!token) throw new ApiError(401, 'not_authenticated', 'Sign in to continue.');
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', '/api/me/avatar');
    xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.setRequestHeader('Content-Type', file.type);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.timeout = 60000;
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener('load', () => {
      let body = null;
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        // Not JSON: the status has to do.
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body ?? {});
      else reject(errorFromResponse({ status: xhr.status, headers: { get: (name) => xhr.getResponseHeader(name) } }, body));
    });
    xhr.addEventListener('error', () => reject(networkError(false)));
    xhr.addEventListener('timeout', () => reject(networkError(true)));
    xhr.send(file);
  });
}
