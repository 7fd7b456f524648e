// One open file: a Y.Doc synchronised over the collaboration socket, bound to a Monaco
// model. Every (re)connect uses a fresh single-use ticket; the server's "saved" receipts
// (message type 100) drive the save state. Writers also keep the document in IndexedDB, so
// what they type offline survives a reload and is merged when the socket is back.

import * as decoding from 'lib0/decoding';
import { MonacoBinding } from 'y-monaco';
import { IndexeddbPersistence } from 'y-indexeddb';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { authRequest } from '../auth/auth-request.js';
import { refreshSession } from '../auth/session.js';
import { forgetOfflineDocument, offlineDocumentName } from './offline-store.js';

const MESSAGE_SAVED = 100;
const MAX_BACKOFF_MS = 10000;
// Connect without the local copy if IndexedDB does not answer (blocked, private mode quirks).
const LOCAL_LOAD_TIMEOUT_MS = 3000;

/**
 * A WebSocket that counts the frames the server numbers for "saved" receipts: sync
 * step 2 (kind 1) and update (kind 2) messages.
 */
function countingSocket(onSend) {
  return class CountingWebSocket extends WebSocket {
    send(data) {
      const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
      if (bytes.length >= 2 && bytes[0] === 0 && (bytes[1] === 1 || bytes[1] === 2)) onSend(this, bytes[1]);
      super.send(data);
    }
  };
}

function sanitiseColor(value) {
  if (typeof value !== 'string') return null;
  const hex = value.trim().toLowerCase();
  return /^#[0-9a-f]{6}$/.test(hex) ? hex : null;
}

/** A CSS string literal: everything but letters, digits and spaces as a hex escape. */
function cssString(text) {
  return `"${[...text].map((c) => (/^[A-Za-z0-9 ]$/.test(c) ? c : `\\${c.codePointAt(0).toString(16)} `)).join('')}"`;
}

/**
 * Save states: "offline" (no socket; local edits are kept in this browser), "syncing" (back
 * online, edits made offline are not yet durable on the server), "saving", "saved".
 *
 * @param {object} options
 * @param {string} options.workspaceId
 * @param {string} options.fileId
 * @param {string} options.userId  whose local copy to use
 * @param {boolean} options.writable  false for viewers: no local copy, and any old one is deleted
 * @param {object} options.model  Monaco text model
 * @param {object} options.editor  Monaco editor showing the model
 * @param {(state: {connection: string, save: string, pending: boolean}) => void} options.onState
 * @param {(peers: Array<{clientId: number, user: object, state: object}>) => void} options.onPeers
 * @param {(reason: string, message: string) => void} [options.onFatal]  the server will not take
 *   us back: reason "session", "revoked" (no access, or the file is gone) or "read_only"
 */
export function openCollabSession({ workspaceId, fileId, userId, writable, model, editor, onState, onPeers, onFatal }) {
  const ydoc = new Y.Doc();
  const ytext = ydoc.getText('content');
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  const serverUrl = `${scheme}//${window.location.host}/ws/collab/${workspaceId}`;

  // Per connection: frames sent that the server numbers, and the highest receipt.
  let socket = null;
  let sent = 0;
  let acked = 0;
  let connection = 'connecting';
  let stopped = false;
  let attempts = 0;
  let retryTimer = 0;
  let renewed = false; // renewed the access token once since the last good connection

  const WS = countingSocket((ws, kind) => {
    if (ws !== socket) {
      socket = ws;
      sent = 0;
      acked = 0;
    }
    sent += 1;
    // Our step 2 carries whatever was edited while offline: synced once it is durable.
    if (kind === 1 && dirtyOffline) {
      dirtyOffline = false;
      syncTarget = sent;
    }
    report();
  });

  const provider = new WebsocketProvider(serverUrl, fileId, ydoc, {
    connect: false,
    params: { saved: '1' },
    WebSocketPolyfill: WS,
    disableBc: true,
  });

  function saveState() {
    if (connection !== 'connected') return 'offline';
    if (dirtyOffline || acked < syncTarget) return 'syncing';
    return acked >= sent ? 'saved' : 'saving';
  }

  // Local edits made while no socket was open (or loaded from this browser's copy, which may
  // hold such edits from before a reload) are not yet on the server; they go out as the
  // step 2 of the next connection, and the receipt that covers it ends "syncing".
  let dirtyOffline = false;
  let syncTarget = 0;
  ydoc.on('update', (_update, origin) => {
    if (origin !== provider && connection !== 'connected') dirtyOffline = true;
    report();
  });

  function report() {
    onState({ connection, save: saveState(), pending: dirtyOffline || acked < Math.max(sent, syncTarget) });
  }

  provider.messageHandlers[MESSAGE_SAVED] = (_encoder, decoder, _provider) => {
    const receipt = decoding.readVarUint(decoder);
    if (provider.ws && provider.ws === socket && receipt > acked) acked = receipt;
    report();
  };

  provider.on('status', ({ status }) => {
    if (status === 'connected') {
      connection = 'connected';
      attempts = 0;
      renewed = false;
      socket = provider.ws;
      sent = 0;
      acked = 0;
      syncTarget = 0;
    } else if (status === 'connecting') connection = 'connecting';
    else connection = 'offline';
    report();
  });
  provider.on('sync', report);

  provider.on('connection-close', (event) => {
    // The provider would reconnect with the used ticket; reconnect here with a new one.
    provider.shouldConnect = false;
    connection = 'offline';
    report();
    if (stopped) return;
    if (event && event.code === 4401) {
      onFatal?.('session', 'Your session ended. Sign in again to keep editing.');
      return;
    }
    if (event && event.code === 1008) {
      // What this copy holds beyond the server's can never be written: drop it.
      forgetLocalCopy();
      if (event.reason === 'read_only') onFatal?.('read_only', 'You can now only read this workspace.');
      else onFatal?.('revoked', 'You no longer have access to this file.');
      return;
    }
    let delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** attempts);
    const limited = /^rate_limited:(\d+)$/.exec(event?.reason ?? '');
    if (limited) delay = Math.max(delay, Number(limited[1]) * 1000);
    attempts += 1;
    scheduleConnect(delay);
  });

  function scheduleConnect(delay) {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, delay);
  }

  async function connect() {
    if (stopped) return;
    if (!navigator.onLine) {
      // Nothing to try until the browser is back online (the view calls reconnect()).
      connection = 'offline';
      report();
      return;
    }
    connection = 'connecting';
    report();
    try {
      const { data } = await authRequest('/api/auth/ws-ticket', { method: 'POST' });
      if (stopped) return;
      provider.params = { ticket: data.ticket, saved: '1' };
      provider.connect();
    } catch (error) {
      if (stopped) return;
      connection = 'offline';
      report();
      if (error?.status === 401) {
        // Back from offline, the access token may have expired meanwhile: renew it first.
        if (!renewed && (await refreshSession())) {
          renewed = true;
          if (!stopped) scheduleConnect(0);
          return;
        }
        if (!stopped) onFatal?.('session', 'Your session ended. Sign in again to keep editing.');
        return;
      }
      attempts += 1;
      scheduleConnect(Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempts));
    }
  }

  // Presence: per-user colours for y-monaco's decorations, and the list of peers.
  const style = document.createElement('style');
  document.head.append(style);
  function renderPresence() {
    const rules = [];
    const peers = [];
    for (const [clientId, state] of provider.awareness.getStates()) {
      if (clientId === ydoc.clientID || !Number.isSafeInteger(clientId)) continue;
      const user = state?.user;
      if (!user || typeof user !== 'object') continue;
      const color = sanitiseColor(user.color) ?? '#f97316';
      const name = typeof user.name === 'string' ? user.name.slice(0, 64) : 'Someone';
      peers.push({ clientId, user: { id: user.id, name, color }, state });
      rules.push(
        `.yRemoteSelection-${clientId}{background-color:${color}40}`,
        `.yRemoteSelectionHead-${clientId}{border-left-color:${color}}`,
        `.yRemoteSelectionHead-${clientId}::after{background-color:${color};content:${cssString(name)}}`,
      );
    }
    style.textContent = rules.join('\n');
    onPeers(peers);
  }
  provider.awareness.on('change', renderPresence);

  const binding = new MonacoBinding(ytext, model, new Set([editor]), provider.awareness);

  // Per-user undo: only changes made through this editor (the binding's origin) are undone.
  const undoManager = new Y.UndoManager(ytext, { trackedOrigins: new Set([binding]), captureTimeout: 500 });

  // This browser's copy: load it before connecting, so the first state vector already covers
  // what was typed offline and the server asks for exactly that.
  const localName = offlineDocumentName(userId, workspaceId, fileId);
  let local = null;
  function forgetLocalCopy() {
    const had = local;
    local = null;
    (had ? had.destroy() : Promise.resolve()).finally(() => forgetOfflineDocument(userId, workspaceId, fileId));
  }
  if (writable && localName && typeof indexedDB !== 'undefined') {
    local = new IndexeddbPersistence(localName, ydoc);
    const timeout = new Promise((resolve) => setTimeout(resolve, LOCAL_LOAD_TIMEOUT_MS));
    Promise.race([local.whenSynced, timeout]).then(() => connect());
  } else {
    if (!writable && localName) forgetOfflineDocument(userId, workspaceId, fileId);
    connect();
  }
  report();

  return {
    ydoc,
    provider,
    binding,
    undoManager,
    reconnect() {
      attempts = 0;
      if (connection === 'offline') scheduleConnect(0);
    },
    /** The browser went offline: drop the socket now rather than when pings time out. */
    goOffline() {
      clearTimeout(retryTimer);
      connection = 'offline';
      if (provider.ws) provider.disconnect();
      report();
    },
    /** Publish fields next to the cursor in this document's awareness (follow mode). */
    setLocalFields(fields) {
      for (const [key, value] of Object.entries(fields)) provider.awareness.setLocalStateField(key, value);
    },
    /** Delete this browser's copy (the file was deleted, or we may only read it now). */
    forgetLocalCopy,
    destroy() {
      stopped = true;
      clearTimeout(retryTimer);
      provider.awareness.off('change', renderPresence);
      undoManager.destroy();
      binding.destroy();
      provider.destroy();
      ydoc.destroy();
      style.remove();
    },
  };
}
