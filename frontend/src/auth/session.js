// The signed-in state of this tab.
//
// The access token lives in this module's memory only (never in localStorage or
// sessionStorage); the refresh token is an HttpOnly cookie that the browser sends to
// /api/auth/refresh. On start-up the app refreshes once to restore a session silently,
// then again shortly before the access token expires. Concurrent callers share one
// refresh. <html data-auth-state> is "loading", "signed-in" or "signed-out".

import { requestJson } from '../api/request-json.js';
import { broadcastAuth, onAuthBroadcast } from './auth-broadcast.js';

const EXPIRY_MARGIN_MS = 5000; // treat a token this close to expiry as expired
const RETRY_AFTER_FAILURE_MS = 30000; // scheduled refresh failed for a transient reason
const MAX_TIMER_MS = 24 * 60 * 60 * 1000;

/** @typedef {{status: 'loading'|'signed-in'|'signed-out', user: object|null}} SessionState */

/** @type {SessionState} */
let state = { status: 'loading', user: null };
let accessToken = '';
let expiresAt = 0;
let refreshTimer = 0;
let refreshing = null; // the one refresh in flight
let restoreFailedTransiently = false;
// Bumped on every explicit sign-in and sign-out: a refresh that started before is ignored.
let epoch = 0;
const listeners = new Set();

export function getSession() {
  return state;
}

/**
 * Call `listener(state, reason)` on every change until `signal` aborts. Reasons: "restore",
 * "sign-in", "refresh", "profile", "sign-out" (this tab's user), "expired", "elsewhere".
 */
export function onSessionChange(listener, signal) {
  if (signal?.aborted) return;
  listeners.add(listener);
  signal?.addEventListener('abort', () => listeners.delete(listener), { once: true });
}

function publish(next, reason) {
  state = next;
  document.documentElement.dataset.authState = next.status;
  for (const listener of [...listeners]) listener(state, reason);
}

function mergeUser(previous, next) {
  if (!next || typeof next !== 'object') return previous;
  return previous && previous.id === next.id ? { ...previous, ...next } : { ...next };
}

function scheduleRefresh(ttlSeconds) {
  clearTimeout(refreshTimer);
  // Refresh a little before expiry; the jitter spreads out tabs that signed in together.
  const lead = Math.min(60, ttlSeconds / 4);
  const jitter = Math.random() * Math.min(10, lead / 2);
  const delayMs = Math.min(MAX_TIMER_MS, Math.max(1, ttlSeconds - lead - jitter) * 1000);
  refreshTimer = setTimeout(() => refreshSession(), delayMs);
}

/** Take the tokens of a login/refresh/setup answer. Returns false if it holds none. */
function acceptTokens(body, reason) {
  if (!body || typeof body.access_token !== 'string' || !body.access_token) return false;
  const ttl = Number(body.expires_in) > 0 ? Number(body.expires_in) : 300;
  accessToken = body.access_token;
  expiresAt = Date.now() + ttl * 1000;
  scheduleRefresh(ttl);
  publish({ status: 'signed-in', user: mergeUser(reason === 'sign-in' ? null : state.user, body.user) }, reason);
  return true;
}

function clearLocally(reason) {
  clearTimeout(refreshTimer);
  accessToken = '';
  expiresAt = 0;
  if (state.status !== 'signed-out') publish({ status: 'signed-out', user: null }, reason);
}

/**
 * Get a new access token with the refresh cookie. Resolves true when signed in afterwards.
 * `staleToken`: the token a request was refused with; if it was replaced meanwhile, the
 * caller just retries with the new one.
 */
export function refreshSession({ staleToken } = {}) {
  if (staleToken && accessToken && accessToken !== staleToken) return Promise.resolve(true);
  if (refreshing) return refreshing;
  const started = epoch;
  const wasSignedIn = state.status === 'signed-in';
  refreshing = requestJson('/api/auth/refresh', { method: 'POST' })
    .then(
      ({ data }) => {
        if (started !== epoch) return state.status === 'signed-in';
        restoreFailedTransiently = false;
        if (acceptTokens(data, wasSignedIn ? 'refresh' : 'restore')) return true;
        clearLocally(wasSignedIn ? 'expired' : 'restore'); // e.g. 204: no session to restore
        return false;
      },
      (error) => {
        if (started !== epoch) return state.status === 'signed-in';
        const transient = !error?.status || error.status >= 500;
        if (transient && wasSignedIn && Date.now() < expiresAt) {
          clearTimeout(refreshTimer);
          refreshTimer = setTimeout(() => refreshSession(), RETRY_AFTER_FAILURE_MS);
          return false;
        }
        restoreFailedTransiently = transient && !wasSignedIn;
        clearLocally(wasSignedIn ? 'expired' : 'restore');
        return false;
      },
    )
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

/** The access token for a request, refreshed first if it is about to expire; "" if signed out. */
export async function getAccessToken() {
  if (state.status === 'loading') await (refreshing ?? refreshSession());
  if (state.status !== 'signed-in') return '';
  if (Date.now() >= expiresAt - EXPIRY_MARGIN_MS) await refreshSession();
  return state.status === 'signed-in' ? accessToken : '';
}

/** Resolves once the start-up refresh has settled. */
export async function sessionKnown() {
  if (state.status === 'loading') await (refreshing ?? refreshSession());
  return state;
}

/** Sign in with the answer of POST /api/auth/login (or setup). */
export function signInWith(body) {
  epoch += 1;
  if (!acceptTokens(body, 'sign-in')) return false;
  broadcastAuth('signed-in');
  return true;
}

/**
 * Sign out here first (sockets stop, nothing more is sent with this session), then on the
 * server (revokes the session, clears the cookie). In the other order, the server's revocation
 * reaches this tab's sockets before the answer does, and they try to refresh a dead session.
 */
export async function signOut() {
  const token = accessToken;
  epoch += 1;
  clearLocally('sign-out');
  broadcastAuth('signed-out');
  try {
    // keepalive: the revocation still reaches the server if the tab is closed right away.
    await requestJson('/api/auth/logout', { method: 'POST', token: token || undefined, keepalive: true });
  } catch {
    // Signed out in this tab anyway; the server forgets the session when it expires.
  }
}

/** Forget the session in this tab only (the server already revoked it). */
export function forgetSession(reason = 'expired') {
  epoch += 1;
  clearLocally(reason);
}

/** Merge fields into the signed-in user (after a profile change, email verification, ...). */
export function updateUser(fields) {
  if (state.status !== 'signed-in') return;
  publish({ status: 'signed-in', user: { ...state.user, ...fields } }, 'profile');
}

/** Restore the session once at start-up and keep it fresh while the app runs. */
export function startSession() {
  document.documentElement.dataset.authState = state.status;
  refreshSession();

  document.addEventListener('visibilitychange', () => {
    // Timers are throttled in background tabs and stop during sleep: catch up on return.
    if (document.visibilityState !== 'visible' || state.status !== 'signed-in') return;
    if (Date.now() >= expiresAt - 60000) refreshSession();
  });
  window.addEventListener('online', () => {
    if (state.status === 'signed-in' && Date.now() >= expiresAt - 60000) refreshSession();
    else if (state.status === 'signed-out' && restoreFailedTransiently) refreshSession();
  });
  onAuthBroadcast((type) => {
    if (type === 'signed-in' && state.status !== 'signed-in') refreshSession();
    if (type === 'signed-out' && state.status === 'signed-in') forgetSession('elsewhere');
  });
}
