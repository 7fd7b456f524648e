// The tab's one events socket (/ws/events, docs/protocol.md "Events socket"): JSON frames for
// the signed-in user. Every (re)connect takes a fresh single-use ticket, and passes the cursor
// of the last durable frame handled so the server replays exactly what was missed. Requests
// carry a `ref` and resolve with the answer that echoes it.

import { authRequest } from '../auth/auth-request.js';
import { refreshSession } from '../auth/session.js';

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 15000;
const REQUEST_TIMEOUT_MS = 15000;
const MAX_QUEUED_SENDS = 64;

/** An error of the events channel with a machine-readable `code` (and `status` from the server). */
export class EventsError extends Error {
  constructor(code, message, { status = 0, details = null, retryAfter = 0 } = {}) {
    super(message);
    this.name = 'EventsError';
    this.code = code;
    this.status = status;
    this.details = details;
    this.retryAfter = retryAfter;
  }
}

function socketUrl(params) {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  const query = new URLSearchParams(params).toString();
  return `${scheme}//${window.location.host}/ws/events?${query}`;
}

function backoff(attempts) {
  const base = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** attempts);
  return base / 2 + Math.random() * (base / 2); // jitter: tabs that lost the server together spread out
}

class EventsSocket {
  constructor() {
    /** @type {'connecting'|'open'|'closed'} */
    this.state = 'closed';
    /** Cursor of the last durable frame handled (or of `synced`/`resync`); null before the first. */
    this.cursor = null;
    /** The `hello` frame of the current connection. */
    this.hello = null;
    this._ws = null;
    this._running = false;
    this._attempts = 0;
    this._retryTimer = 0;
    this._generation = 0; // bumped by every connect and stop: late callbacks of old sockets are ignored
    this._handlers = new Map(); // type -> Set<fn>
    this._stateListeners = new Set();
    this._pending = new Map(); // ref -> {resolve, reject, timer}
    this._waitingForOpen = []; // requests made while not open: [{frame, ref}]
    this._nextRef = 1;
    this._refPrefix = Math.random().toString(36).slice(2, 8);
  }

  /** Connect (idempotent) and keep reconnecting until stop(). */
  start() {
    if (this._running) return;
    this._running = true;
    this._attempts = 0;
    this._connect();
  }

  /** Close the socket, forget the cursor and fail whatever waits for an answer (sign-out). */
  stop() {
    if (!this._running) return;
    this._running = false;
    this._generation += 1;
    clearTimeout(this._retryTimer);
    const ws = this._ws;
    this._ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000);
    this.cursor = null;
    this.hello = null;
    this._failAll(new EventsError('stopped', 'Signed out.'));
    this._setState('closed');
  }

  /** Skip the wait of the backoff (the network is back, the tab is shown, the user asked). */
  reconnectNow() {
    if (!this._running || this.state !== 'closed') return;
    this._attempts = 0;
    this._scheduleConnect(0);
  }

  /** Call `handler(frame)` for every server frame of `type` ('*' for all). Returns unsubscribe. */
  on(type, handler) {
    let set = this._handlers.get(type);
    if (!set) {
      set = new Set();
      this._handlers.set(type, set);
    }
    set.add(handler);
    return () => set.delete(handler);
  }

  /** Call `listener(state)` on every state change. Returns unsubscribe. */
  onState(listener) {
    this._stateListeners.add(listener);
    return () => this._stateListeners.delete(listener);
  }

  /**
   * Send a frame and resolve with the server's answer carrying the same `ref`; reject with an
   * EventsError (`.code`) on an `error` answer, on timeout, or when the socket closes first
   * (`disconnected`: the server may or may not have acted on it; retry idempotently).
   * Made while the socket is reconnecting, the frame waits for it (within the timeout).
   */
  request(frame, { timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
    const ref = `${this._refPrefix}-${this._nextRef++}`;
    const withRef = { ...frame, ref };
    return new Promise((resolve, reject) => {
      if (!this._running) {
        reject(new EventsError('not_connected', 'Not connected.'));
        return;
      }
      const timer = setTimeout(() => {
        this._pending.delete(ref);
        this._waitingForOpen = this._waitingForOpen.filter((item) => item.ref !== ref);
        reject(new EventsError('timeout', 'The server did not answer in time.'));
      }, timeoutMs);
      this._pending.set(ref, { resolve, reject, timer });
      if (this.state === 'open' && this._ws) this._ws.send(JSON.stringify(withRef));
      else this._waitingForOpen.push({ frame: withRef, ref });
    });
  }

  /** Send a frame without waiting for anything; dropped when the socket is not open. */
  send(frame) {
    if (this.state !== 'open' || !this._ws) return false;
    this._ws.send(JSON.stringify(frame));
    return true;
  }

  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    for (const listener of [...this._stateListeners]) {
      try {
        listener(state);
      } catch (error) {
        console.error(error);
      }
    }
  }

  _emit(frame) {
    for (const key of [frame.type, '*']) {
      const set = this._handlers.get(key);
      if (!set) continue;
      for (const handler of [...set]) {
        try {
          handler(frame);
        } catch (error) {
          console.error(error);
        }
      }
    }
  }

  _failAll(error) {
    for (const [, pending] of this._pending) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this._pending.clear();
    this._waitingForOpen = [];
  }

  _scheduleConnect(delay) {
    clearTimeout(this._retryTimer);
    if (!this._running) return;
    this._retryTimer = setTimeout(() => this._connect(), delay);
  }

  async _connect() {
    if (!this._running) return;
    const generation = ++this._generation;
    this._setState('connecting');
    let ticket;
    try {
      const { data } = await authRequest('/api/auth/ws-ticket', { method: 'POST' });
      ticket = data?.ticket;
    } catch (error) {
      if (generation !== this._generation) return;
      if (error?.status === 401) {
        // Signed out: the session module publishes that and the shell calls stop().
        this._setState('closed');
        return;
      }
      this._setState('closed');
      this._attempts += 1;
      this._scheduleConnect(backoff(this._attempts));
      return;
    }
    if (generation !== this._generation || !ticket) {
      if (generation === this._generation) this._scheduleConnect(backoff(++this._attempts));
      return;
    }
    const params = { ticket };
    if (this.cursor != null) params.cursor = String(this.cursor);
    const ws = new WebSocket(socketUrl(params));
    this._ws = ws;
    ws.addEventListener('message', (event) => {
      if (generation === this._generation) this._onMessage(event.data);
    });
    ws.addEventListener('close', (event) => {
      if (generation === this._generation) this._onClose(event);
    });
  }

  _onMessage(data) {
    if (typeof data !== 'string') return;
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (!frame || typeof frame !== 'object' || typeof frame.type !== 'string') return;

    if (frame.type === 'hello') {
      this.hello = frame;
      this._attempts = 0;
      this._setState('open');
      const waiting = this._waitingForOpen;
      this._waitingForOpen = [];
      for (const item of waiting) {
        if (this._pending.has(item.ref)) this._ws.send(JSON.stringify(item.frame));
      }
    }
    if (Number.isSafeInteger(frame.cursor) && (frame.type === 'synced' || frame.type === 'resync')) {
      this.cursor = frame.cursor;
    } else if (Number.isSafeInteger(frame.cursor) && (this.cursor == null || frame.cursor > this.cursor)) {
      this.cursor = frame.cursor;
    }

    if (typeof frame.ref === 'string' && this._pending.has(frame.ref)) {
      const pending = this._pending.get(frame.ref);
      this._pending.delete(frame.ref);
      clearTimeout(pending.timer);
      if (frame.type === 'error') {
        pending.reject(
          new EventsError(frame.code || 'error', frame.message || 'The request failed.', {
            status: frame.status || 0,
            details: frame.details ?? null,
            retryAfter: frame.retry_after || 0,
          }),
        );
      } else pending.resolve(frame);
    }
    this._emit(frame);
  }

  _onClose(event) {
    this._ws = null;
    this.hello = null;
    // Requests already sent on this socket may or may not have been done: say so.
    for (const [ref, pending] of [...this._pending]) {
      if (this._waitingForOpen.some((item) => item.ref === ref)) continue;
      clearTimeout(pending.timer);
      this._pending.delete(ref);
      pending.reject(new EventsError('disconnected', 'The connection was lost.'));
    }
    this._setState('closed');
    if (!this._running) return;
    this._attempts += 1;
    let delay = backoff(this._attempts);
    const limited = /^rate_limited:(\d+)$/.exec(event.reason ?? '');
    if (event.code === 4429 && limited) delay = Math.max(delay, Number(limited[1]) * 1000);
    if (event.code === 4401) {
      // The session was revoked or its token expired: refresh first; a signed-out refresh
      // publishes the sign-out and the shell stops this socket.
      const generation = this._generation;
      refreshSession().then((ok) => {
        if (ok && generation === this._generation) this._scheduleConnect(delay);
      });
      return;
    }
    this._scheduleConnect(delay);
  }
}

/** The tab's events socket. */
export const events = new EventsSocket();
