// The signed-in user's conversations and the threads opened in this tab, kept current by the
// events socket (docs/protocol.md "Events socket"). Every merge is by server sequence and never
// moves backwards, so a frame and an HTTP answer about the same thing can arrive in any order.
// Sends are optimistic: a message waits as "pending" with its client_id and is resent with the
// same client_id until the server answers, so a retry never stores it twice.

import { getSession } from '../auth/session.js';
import { events } from '../events/events-socket.js';
import { getConversation, listConversations, listMessages, openConversation } from './messages-api.js';

const PAGE = 50;
const RETRY_MS = 2000;
const TYPING_SEND_EVERY_MS = 2000;
const TYPING_IDLE_MS = 3000;
const STATUS_RANK = { sent: 1, delivered: 2, read: 3 };
const TRANSIENT = new Set(['disconnected', 'timeout', 'not_connected', 'service_unavailable', 'rate_limited']);

function newClientId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function laterStatus(a, b) {
  return (STATUS_RANK[b] ?? 0) > (STATUS_RANK[a] ?? 0) ? b : a;
}

/** The newer of two versions of one message: deletion wins, then the later edit; ticks only go up. */
function mergeMessage(old, next) {
  if (!old) return next;
  let merged = next;
  if (old.deleted && !next.deleted) merged = old;
  else if (!old.deleted && !next.deleted && old.edited_at && (!next.edited_at || old.edited_at > next.edited_at)) {
    merged = old;
  }
  const status = old.status == null ? next.status : laterStatus(old.status, next.status);
  return { ...merged, status };
}

class ChatStore {
  constructor() {
    this.me = null;
    /** 'idle' | 'loading' | 'ready' | 'error' */
    this.listState = 'idle';
    this.listError = '';
    this._conversations = new Map();
    this._threads = new Map();
    this._presence = new Map(); // user_id -> {status, last_seen_at}
    this._typing = new Map(); // conversation_id -> timer
    this._typingSent = new Map(); // conversation_id -> {at, idleTimer}
    this._fetching = new Map(); // conversation_id -> Promise (unknown conversations)
    this._listeners = new Set();
    this._frameLog = null; // durable frames seen while the list loads, replayed after it
    this._listLoad = null;
    this._hadSync = false;
    this._unsubscribe = [];
    this.active = null; // the conversation shown in this tab (read marks, notifications)
  }

  /** Follow the events socket for the signed-in user (idempotent). */
  start() {
    const user = getSession().user;
    if (this._unsubscribe.length && this.me === user?.id) return;
    // A view opened before the store started (a page loaded straight on /messages/…) has asked
    // for its thread already: that load is dropped with the rest, so it is asked for again here.
    const active = this.active;
    this.stop();
    this.me = user?.id ?? null;
    this.active = active;
    this._unsubscribe = [
      events.on('*', (frame) => this._onFrame(frame)),
      events.onState((state) => {
        if (state === 'open') this._resendPending();
        this._emit({ kind: 'connection' });
      }),
    ];
    // Loaded after the socket opened: its `synced` has passed, so read the state now.
    if (events.state === 'open') {
      this._hadSync = true;
      this.loadConversations();
    }
    if (this.active) this.loadThread(this.active);
  }

  /** Forget everything (sign-out). */
  stop() {
    for (const off of this._unsubscribe) off();
    this._unsubscribe = [];
    for (const timer of this._typing.values()) clearTimeout(timer);
    for (const sent of this._typingSent.values()) clearTimeout(sent.idleTimer);
    this.me = null;
    this.listState = 'idle';
    this.listError = '';
    this._conversations.clear();
    this._threads.clear();
    this._presence.clear();
    this._typing.clear();
    this._typingSent.clear();
    this._fetching.clear();
    this._frameLog = null;
    this._listLoad = null;
    this._hadSync = false;
    this.active = null;
    this._emit({ kind: 'reset' });
  }

  /** Call `fn(change)` after every change; returns unsubscribe. */
  subscribe(fn) {
    this._listeners.add(fn);
    return () => this._listeners.delete(fn);
  }

  _emit(change) {
    for (const fn of [...this._listeners]) {
      try {
        fn(change);
      } catch (error) {
        console.error(error);
      }
    }
  }

  // -- conversations ---------------------------------------------------------------------------

  /** Conversations, newest activity first. */
  conversations() {
    return [...this._conversations.values()].sort((a, b) => {
      const at = a.last_message?.created_at ?? a.updated_at ?? a.created_at ?? '';
      const bt = b.last_message?.created_at ?? b.updated_at ?? b.created_at ?? '';
      return at < bt ? 1 : at > bt ? -1 : 0;
    });
  }

  conversation(id) {
    return this._conversations.get(id) ?? null;
  }

  presenceOf(conversation) {
    if (!conversation || conversation.presence === null) return null;
    return this._presence.get(conversation.peer?.id) ?? conversation.presence ?? null;
  }

  totalUnread() {
    let total = 0;
    for (const c of this._conversations.values()) total += Number(c.unread_count) || 0;
    return total;
  }

  /** Load (or reload) the list over HTTP; frames that arrive meanwhile are applied after it. */
  loadConversations() {
    if (this._listLoad) return this._listLoad;
    if (this.listState !== 'ready') this.listState = 'loading';
    this._frameLog = [];
    this._emit({ kind: 'list' });
    const me = this.me;
    this._listLoad = listConversations()
      .then((data) => {
        if (me !== this.me) return;
        const log = this._frameLog ?? [];
        this._frameLog = null;
        const seen = new Set();
        for (const conversation of data.conversations ?? []) {
          this._upsertConversation(conversation);
          seen.add(conversation.id);
        }
        for (const frame of log) if (frame.cursor > (data.cursor ?? 0)) this._applyDurable(frame);
        this.listState = 'ready';
        this.listError = '';
      })
      .catch((error) => {
        if (me !== this.me) return;
        this._frameLog = null;
        if (this.listState !== 'ready') this.listState = 'error';
        this.listError = error?.message || 'Could not load your conversations.';
      })
      .finally(() => {
        this._listLoad = null;
        this._emit({ kind: 'list' });
      });
    return this._listLoad;
  }

  _upsertConversation(incoming) {
    const local = this._conversations.get(incoming.id);
    if (!local) {
      this._conversations.set(incoming.id, { ...incoming });
      return;
    }
    const merged = { ...local, peer: incoming.peer, blocked: incoming.blocked, presence: incoming.presence };
    if ((incoming.last_seq ?? 0) >= (local.last_seq ?? 0)) {
      merged.last_seq = incoming.last_seq;
      merged.updated_at = incoming.updated_at;
      merged.last_message = incoming.last_message
        ? mergeMessage(local.last_message?.id === incoming.last_message.id ? local.last_message : null, incoming.last_message)
        : null;
      if ((incoming.read_seq ?? 0) >= (local.read_seq ?? 0)) merged.unread_count = incoming.unread_count;
    }
    merged.read_seq = Math.max(local.read_seq ?? 0, incoming.read_seq ?? 0);
    merged.peer_delivered_seq = Math.max(local.peer_delivered_seq ?? 0, incoming.peer_delivered_seq ?? 0);
    merged.peer_read_seq =
      incoming.peer_read_seq == null ? null : Math.max(local.peer_read_seq ?? 0, incoming.peer_read_seq);
    if (incoming.presence) this._presence.delete(incoming.peer?.id); // the snapshot is newer
    this._conversations.set(incoming.id, merged);
  }

  /** Refresh one conversation's summary (after a block, or for one we did not know). */
  refreshConversation(id) {
    if (this._fetching.has(id)) return this._fetching.get(id);
    const me = this.me;
    const load = getConversation(id)
      .then((conversation) => {
        if (me !== this.me) return;
        this._upsertConversation(conversation);
        this._emit({ kind: 'list' });
        this._emit({ kind: 'thread', conversationId: id });
      })
      .finally(() => this._fetching.delete(id));
    this._fetching.set(id, load);
    return load;
  }

  /** Open (or find) the conversation with `username`; resolves with it. */
  async openWith(username) {
    const conversation = await openConversation(username);
    this._upsertConversation(conversation);
    this._emit({ kind: 'list' });
    return this._conversations.get(conversation.id);
  }

  // -- threads ---------------------------------------------------------------------------------

  thread(id) {
    return this._threads.get(id) ?? null;
  }

  /** Messages of a thread in seq order, then the pending ones in the order they were written. */
  messagesOf(id) {
    const thread = this._threads.get(id);
    if (!thread) return [];
    const stored = [...thread.bySeq.values()].sort((a, b) => a.seq - b.seq);
    return stored.concat([...thread.pending.values()]);
  }

  _threadFor(id) {
    let thread = this._threads.get(id);
    if (!thread) {
      thread = { bySeq: new Map(), pending: new Map(), hasMore: false, loaded: false, loading: false, error: '' };
      this._threads.set(id, thread);
    }
    return thread;
  }

  /** Load the newest page of a thread once. */
  async loadThread(id) {
    const thread = this._threadFor(id);
    if (thread.loaded || thread.loading) return;
    await this._loadPage(id, thread, null);
  }

  /** Load the page before the oldest message shown; false when there is none. */
  async loadOlder(id) {
    const thread = this._threads.get(id);
    if (!thread || !thread.loaded || thread.loading || !thread.hasMore) return false;
    const oldest = Math.min(...thread.bySeq.keys());
    await this._loadPage(id, thread, oldest);
    return true;
  }

  async _loadPage(id, thread, before) {
    thread.loading = true;
    thread.error = '';
    this._emit({ kind: 'thread', conversationId: id });
    const me = this.me;
    try {
      const data = await listMessages(id, { before, limit: PAGE });
      if (me !== this.me || this._threads.get(id) !== thread) return;
      for (const message of data.messages ?? []) this._putMessage(id, message);
      thread.hasMore = Boolean(data.has_more);
      thread.loaded = true;
      if (!this._conversations.has(id)) this.refreshConversation(id).catch(() => {});
    } catch (error) {
      if (this._threads.get(id) !== thread) return;
      thread.error = error?.message || 'Could not load the messages.';
      thread.errorStatus = error?.status ?? 0;
    } finally {
      thread.loading = false;
      if (this._threads.get(id) === thread) this._emit({ kind: 'thread', conversationId: id, page: before });
    }
  }

  _putMessage(id, message) {
    const conversation = this._conversations.get(id);
    let next = message;
    if (message.sender_id === this.me && conversation) {
      const marks = this._statusFromMarks(conversation, message.seq);
      if (marks) next = { ...message, status: laterStatus(message.status, marks) };
    }
    const thread = this._threads.get(id);
    if (thread) {
      thread.bySeq.set(message.seq, mergeMessage(thread.bySeq.get(message.seq), next));
      if (message.client_id) thread.pending.delete(message.client_id);
    }
    if (conversation && (!conversation.last_message || message.seq >= conversation.last_message.seq)) {
      conversation.last_message = mergeMessage(
        conversation.last_message?.id === message.id ? conversation.last_message : null,
        next,
      );
    }
  }

  _statusFromMarks(conversation, seq) {
    if (conversation.peer_read_seq != null && conversation.peer_read_seq >= seq) return 'read';
    if ((conversation.peer_delivered_seq ?? 0) >= seq) return 'delivered';
    return null;
  }

  // -- sending ---------------------------------------------------------------------------------

  /**
   * Send `body` to a conversation: shown at once as pending, resent until the server has it.
   * `draft` (src/messages/code-ref-draft.js) attaches a code reference.
   */
  send(id, body, draft = null) {
    const thread = this._threadFor(id);
    const pending = {
      pending: true,
      client_id: newClientId(),
      conversation_id: id,
      sender_id: this.me,
      body,
      created_at: new Date().toISOString(),
      failed: '',
      inflight: false,
      code_ref: draft ? { draft: true, path: draft.path, startLine: draft.startLine, endLine: draft.endLine, snippet: draft.snippet } : null,
      send_ref: draft ? draft.ref : null,
    };
    thread.pending.set(pending.client_id, pending);
    this.stopTyping(id);
    this._emit({ kind: 'thread', conversationId: id, sent: true });
    this._sendPending(pending);
    return pending.client_id;
  }

  /** Try a failed message again (same client_id: it cannot be stored twice). */
  retry(id, clientId) {
    const pending = this._threads.get(id)?.pending.get(clientId);
    if (!pending) return;
    pending.failed = '';
    this._emit({ kind: 'thread', conversationId: id });
    this._sendPending(pending);
  }

  /** Drop a message that could not be sent. */
  discard(id, clientId) {
    const thread = this._threads.get(id);
    const pending = thread?.pending.get(clientId);
    if (!pending || !pending.failed) return;
    thread.pending.delete(clientId);
    this._emit({ kind: 'thread', conversationId: id });
  }

  _sendPending(pending) {
    if (pending.inflight || pending.failed) return;
    pending.inflight = true;
    const id = pending.conversation_id;
    const frame = { type: 'message.send', conversation_id: id, client_id: pending.client_id, body: pending.body };
    if (pending.send_ref) frame.code_ref = pending.send_ref;
    events.request(frame).then(
      (answer) => {
        pending.inflight = false;
        if (answer.message) this._confirmSent(id, answer.message);
      },
      (error) => {
        pending.inflight = false;
        if (!this._threads.get(id)?.pending.has(pending.client_id)) return; // answered by a replayed frame
        if (error?.code === 'stopped') return;
        if (TRANSIENT.has(error?.code)) {
          // The socket resends everything pending when it opens again; if it stayed open, retry here.
          setTimeout(() => {
            if (events.state === 'open') this._sendPending(pending);
          }, RETRY_MS);
          return;
        }
        if (error?.code === 'blocked') pending.failed = 'You cannot message this person.';
        else if (pending.send_ref && error?.code === 'not_found') pending.failed = 'You cannot open the file this code is from.';
        else pending.failed = error?.message || 'The message was not sent.';
        this._emit({ kind: 'thread', conversationId: id });
      },
    );
  }

  _resendPending() {
    for (const thread of this._threads.values()) {
      for (const pending of thread.pending.values()) this._sendPending(pending);
    }
  }

  _confirmSent(id, message) {
    const known = this._conversations.get(id);
    this._putMessage(id, message);
    if (known && message.seq > (known.last_seq ?? 0)) {
      known.last_seq = message.seq;
      known.updated_at = message.created_at;
    }
    if (!known) this.refreshConversation(id).catch(() => {});
    this._emit({ kind: 'thread', conversationId: id });
    this._emit({ kind: 'list' });
  }

  /** Edit one's own message (within 15 minutes). Rejects with the server's error. */
  async edit(id, messageId, body) {
    const answer = await events.request({ type: 'message.edit', conversation_id: id, message_id: messageId, body });
    this._applyUpdated(id, answer.message);
  }

  /** Delete one's own message for everyone. */
  async remove(id, messageId) {
    const answer = await events.request({ type: 'message.delete', conversation_id: id, message_id: messageId });
    this._applyUpdated(id, answer.message);
  }

  _applyUpdated(id, message) {
    if (!message) return;
    const conversation = this._conversations.get(id);
    const thread = this._threads.get(id);
    const before = thread?.bySeq.get(message.seq) ?? (conversation?.last_message?.id === message.id ? conversation.last_message : null);
    if (
      conversation &&
      message.deleted &&
      before &&
      !before.deleted &&
      message.sender_id !== this.me &&
      message.seq > (conversation.read_seq ?? 0)
    ) {
      conversation.unread_count = Math.max(0, (Number(conversation.unread_count) || 0) - 1);
    }
    if (thread) thread.bySeq.set(message.seq, mergeMessage(thread.bySeq.get(message.seq), message));
    if (conversation?.last_message?.id === message.id) conversation.last_message = mergeMessage(conversation.last_message, message);
    this._emit({ kind: 'thread', conversationId: id });
    this._emit({ kind: 'list' });
  }

  // -- read marks ------------------------------------------------------------------------------

  /** Mark everything in the conversation read, if anything from the other person is unread. */
  markRead(id) {
    const conversation = this._conversations.get(id);
    const thread = this._threads.get(id);
    if (!conversation || !thread?.loaded) return;
    let newest = null;
    for (const message of thread.bySeq.values()) {
      if (message.sender_id !== this.me && (!newest || message.seq > newest.seq)) newest = message;
    }
    if (!newest || newest.seq <= (conversation.read_seq ?? 0)) return;
    if ((conversation._readAsked ?? 0) >= newest.seq) return;
    conversation._readAsked = newest.seq;
    events.request({ type: 'message.read', conversation_id: id, message_id: newest.id }).then(
      (ack) => this._applyRead(id, ack.read_seq, ack.unread_count),
      () => {
        conversation._readAsked = 0; // try again on the next occasion
      },
    );
  }

  _applyRead(id, readSeq, unread) {
    const conversation = this._conversations.get(id);
    if (!conversation || readSeq < (conversation.read_seq ?? 0)) return;
    conversation.read_seq = readSeq;
    conversation.unread_count = unread;
    this._emit({ kind: 'list' });
  }

  // -- typing ----------------------------------------------------------------------------------

  isTyping(id) {
    return this._typing.has(id);
  }

  /** The user typed in the composer: tell the other person, at most every 2 s. */
  typing(id) {
    let sent = this._typingSent.get(id);
    const now = Date.now();
    if (!sent) {
      sent = { at: 0, idleTimer: 0 };
      this._typingSent.set(id, sent);
    }
    if (now - sent.at >= TYPING_SEND_EVERY_MS && events.send({ type: 'typing', conversation_id: id, active: true })) {
      sent.at = now;
    }
    clearTimeout(sent.idleTimer);
    sent.idleTimer = setTimeout(() => this.stopTyping(id), TYPING_IDLE_MS);
  }

  /** The user stopped typing (paused, cleared the composer, sent, or left). */
  stopTyping(id) {
    const sent = this._typingSent.get(id);
    if (!sent) return;
    clearTimeout(sent.idleTimer);
    this._typingSent.delete(id);
    if (sent.at) events.send({ type: 'typing', conversation_id: id, active: false });
  }

  _setTyping(id, seconds) {
    clearTimeout(this._typing.get(id));
    if (seconds > 0) {
      this._typing.set(
        id,
        setTimeout(() => {
          this._typing.delete(id);
          this._emit({ kind: 'typing', conversationId: id });
        }, seconds * 1000),
      );
    } else this._typing.delete(id);
    this._emit({ kind: 'typing', conversationId: id });
  }

  // -- frames ----------------------------------------------------------------------------------

  _onFrame(frame) {
    if (!this.me) return;
    switch (frame.type) {
      case 'presence.snapshot':
        for (const p of frame.users ?? []) this._presence.set(p.user_id, p);
        this._emit({ kind: 'presence' });
        return;
      case 'presence':
        this._presence.set(frame.user_id, frame);
        this._emit({ kind: 'presence', userId: frame.user_id });
        return;
      case 'typing': {
        const conversation = this._conversations.get(frame.conversation_id);
        if (conversation && frame.user_id === conversation.peer?.id) this._setTyping(frame.conversation_id, frame.expires_in);
        return;
      }
      case 'resync':
        this._threads.forEach((thread, id) => {
          // Start threads over from their newest page; pending sends stay and are resent.
          const fresh = { bySeq: new Map(), pending: thread.pending, hasMore: false, loaded: false, loading: false, error: '' };
          this._threads.set(id, fresh);
          if (id === this.active) this.loadThread(id);
        });
        this.loadConversations();
        return;
      case 'synced':
        // A first connection (no cursor) carries no backlog: read the state now, after subscribing.
        if (!this._hadSync || this.listState === 'error') this.loadConversations();
        this._hadSync = true;
        return;
      default:
        if (Number.isSafeInteger(frame.cursor)) {
          if (this._frameLog) this._frameLog.push(frame);
          this._applyDurable(frame);
        } else if (frame.type === 'message.sent' && frame.message) {
          this._confirmSent(frame.message.conversation_id, frame.message);
        }
    }
  }

  _applyDurable(frame) {
    switch (frame.type) {
      case 'message':
      case 'message.sent':
        this._applyMessage(frame.message ?? null);
        return;
      case 'message.updated':
        this._applyUpdated(frame.conversation_id, frame.message);
        return;
      case 'receipt':
        this._applyReceipt(frame);
        return;
      case 'conversation.read':
        this._applyRead(frame.conversation_id, frame.read_seq, frame.unread_count);
        return;
      case 'conversation':
        if (frame.conversation) {
          this._upsertConversation(frame.conversation);
          this._emit({ kind: 'list' });
        }
        return;
      default:
    }
  }

  _applyMessage(message) {
    if (!message) return;
    const id = message.conversation_id;
    const conversation = this._conversations.get(id);
    const fromPeer = message.sender_id !== this.me;
    if (conversation) {
      const isNew = message.seq > (conversation.last_seq ?? 0);
      if (isNew) {
        conversation.last_seq = message.seq;
        conversation.updated_at = message.created_at;
        if (fromPeer && !message.deleted && message.seq > (conversation.read_seq ?? 0)) {
          conversation.unread_count = (Number(conversation.unread_count) || 0) + 1;
        }
      }
      this._putMessage(id, message);
      if (fromPeer && this._typing.has(id)) this._setTyping(id, 0);
      if (fromPeer && isNew) this._emit({ kind: 'incoming', conversationId: id, message });
    } else {
      this._putMessage(id, message);
      this.refreshConversation(id).then(
        () => {
          if (fromPeer) this._emit({ kind: 'incoming', conversationId: id, message });
        },
        () => {},
      );
    }
    this._emit({ kind: 'thread', conversationId: id });
    this._emit({ kind: 'list' });
  }

  _applyReceipt(frame) {
    const conversation = this._conversations.get(frame.conversation_id);
    if (!conversation || frame.user_id !== conversation.peer?.id) return;
    conversation.peer_delivered_seq = Math.max(conversation.peer_delivered_seq ?? 0, frame.delivered_seq ?? 0);
    conversation.peer_read_seq =
      frame.read_seq == null ? null : Math.max(conversation.peer_read_seq ?? 0, frame.read_seq);
    const relabel = (message) => {
      if (!message || message.sender_id !== this.me) return message;
      const marks = this._statusFromMarks(conversation, message.seq);
      return marks ? { ...message, status: laterStatus(message.status, marks) } : message;
    };
    const thread = this._threads.get(frame.conversation_id);
    if (thread) for (const [seq, message] of thread.bySeq) thread.bySeq.set(seq, relabel(message));
    conversation.last_message = relabel(conversation.last_message);
    this._emit({ kind: 'thread', conversationId: frame.conversation_id });
    this._emit({ kind: 'list' });
  }
}

/** The tab's chat state. */
export const chat = new ChatStore();
