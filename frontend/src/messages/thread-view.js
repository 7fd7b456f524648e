// One conversation: the header (who, presence or "typing…", block), the messages with day
// separators (older pages load when scrolled to the top), and the composer (Enter sends,
// Shift+Enter is a new line).

import { callButtons } from '../calls/call-button.js';
import { h, replaceChildren } from '../dom.js';
import { avatar, displayNameOf } from '../ui/avatar.js';
import { notice } from '../ui/notice.js';
import { loadingLine, spinner } from '../ui/spinner.js';
import { chat } from './chat-store.js';
import { dayKey, dayLabel, presenceText } from './chat-format.js';
import { clearCodeRefDraft, codeRefDraftFor, linesLabel } from './code-ref-draft.js';
import { confirmAction } from './confirm-dialog.js';
import { blockUser, unblockUser } from './messages-api.js';
import { itemSignature, messageItem } from './message-item.js';
import { presenceDot } from './presence-dot.js';

const NEAR_BOTTOM_PX = 120;
const LOAD_OLDER_PX = 240;
const MAX_COMPOSER_PX = 160;
const BUTTON = 'rounded-md border border-line bg-surface px-3 py-1.5 text-sm font-medium hover:bg-subtle disabled:opacity-60';

/** Put `nodes` into `parent` in order, moving only what is out of place (keeps focus and state). */
function reconcile(parent, nodes) {
  let cursor = parent.firstChild;
  for (const node of nodes) {
    if (node === cursor) {
      cursor = cursor.nextSibling;
      continue;
    }
    parent.insertBefore(node, cursor);
  }
  while (cursor) {
    const next = cursor.nextSibling;
    cursor.remove();
    cursor = next;
  }
}

/**
 * Render the thread of `conversationId` into `container`. Returns {destroy, focusComposer}.
 * @param {HTMLElement} container
 * @param {string} conversationId
 * @param {{signal: AbortSignal, onBack: string}} options
 */
export function renderThread(container, conversationId, { signal }) {
  const id = conversationId;
  const local = new AbortController();
  const done = AbortSignal.any ? AbortSignal.any([signal, local.signal]) : signal;
  const items = new Map(); // key -> {signature, node}
  let editing = null; // message id being edited
  let firstPaint = true;

  // -- header --
  const headerPeer = h('div', { class: 'flex min-w-0 items-center gap-3' });
  const blockButton = h('button', { type: 'button', class: BUTTON, dataset: { blockToggle: '' } });
  const callSlot = h('div', { class: 'flex items-center', dataset: { callSlot: '' } });
  const header = h(
    'header',
    { class: 'flex items-center gap-2 border-b border-line bg-surface px-3 py-2' },
    h(
      'a',
      {
        href: '/messages',
        class: 'rounded-md px-2 py-1 text-lg text-muted hover:bg-subtle hover:text-fg md:hidden',
        'aria-label': 'Back to conversations',
        dataset: { backLink: '' },
      },
      '←',
    ),
    headerPeer,
    h('div', { class: 'ml-auto flex items-center gap-2' }, callSlot, blockButton),
  );

  // -- messages --
  const list = h('ol', { class: 'flex flex-col gap-0.5 py-3', dataset: { messageList: '' } });
  const olderStatus = h('div', { class: 'flex min-h-8 items-center justify-center text-sm text-muted', 'aria-live': 'polite' });
  const emptyState = h(
    'div',
    { class: 'm-auto max-w-xs p-6 text-center text-sm text-muted', dataset: { threadEmpty: '' }, hidden: true },
    h('p', { class: 'font-medium text-fg' }, 'No messages yet'),
    h('p', { class: 'mt-1' }, 'Say hello: your first message starts the conversation.'),
  );
  const scroller = h(
    'div',
    {
      class: 'flex min-h-0 flex-1 flex-col overflow-y-auto bg-canvas',
      role: 'log',
      'aria-label': 'Messages',
      tabindex: '0',
      dataset: { threadScroll: '' },
    },
    emptyState,
    // Few messages sit at the bottom, next to the composer.
    h('div', { class: 'mt-auto' }, olderStatus, list),
  );

  // -- typing and composer --
  const composerInput = h('textarea', {
    id: 'composer',
    rows: '1',
    maxlength: '4000',
    placeholder: 'Write a message',
    'aria-label': 'Message',
    autocomplete: 'off',
    class: 'block max-h-40 min-h-10 w-full flex-1 resize-none rounded-2xl border border-line bg-surface px-4 py-2 text-fg placeholder:text-muted',
    dataset: { composer: '' },
  });
  const sendButton = h(
    'button',
    {
      type: 'submit',
      class: 'flex size-10 shrink-0 items-center justify-center rounded-full bg-accent font-semibold text-on-accent hover:bg-accent-strong disabled:opacity-50',
      'aria-label': 'Send',
      dataset: { send: '' },
    },
    h('span', { 'aria-hidden': 'true' }, '➤'),
  );
  const composer = h(
    'form',
    { class: 'flex items-end gap-2 border-t border-line bg-surface px-3 py-2', dataset: { composerForm: '' } },
    composerInput,
    sendButton,
  );
  const blockedNote = h('div', { class: 'border-t border-line bg-surface px-3 py-3 text-center text-sm text-muted', hidden: true });

  // -- code attached from the editor ("Send selection in a message…"), sent with the next message --
  let draft = codeRefDraftFor(id);
  const chipRow = h('div', { class: 'border-t border-line bg-surface px-3 pt-2' });
  function renderChip() {
    chipRow.hidden = !draft;
    composerInput.placeholder = draft ? 'Add a message about this code' : 'Write a message';
    if (!draft) {
      chipRow.replaceChildren();
      return;
    }
    const label = `${draft.path} · ${linesLabel(draft.startLine, draft.endLine)}`;
    replaceChildren(
      chipRow,
      h(
        'span',
        {
          class: 'inline-flex max-w-full items-center gap-1 rounded-full border border-line bg-subtle py-0.5 pl-3 pr-1 text-xs font-medium',
          dataset: { codeRefChip: '' },
        },
        h('span', { class: 'truncate font-mono', title: draft.snippet.slice(0, 400) }, label),
        h(
          'button',
          {
            type: 'button',
            class: 'flex size-5 items-center justify-center rounded-full text-muted hover:bg-line hover:text-fg',
            'aria-label': `Remove the attached code (${label})`,
            dataset: { codeRefRemove: '' },
            onClick: () => {
              draft = null;
              clearCodeRefDraft();
              renderChip();
              composerInput.focus();
            },
          },
          '×',
        ),
      ),
    );
  }

  const body = h('div', { class: 'flex min-h-0 flex-1 flex-col' }, loadingBox());
  replaceChildren(container, header, body);

  function loadingBox() {
    return h('div', { class: 'm-auto p-6' }, loadingLine('Loading messages…'));
  }

  // -- rendering --
  const statusLine = h('p', { 'aria-live': 'polite' });
  function renderHeader() {
    const conversation = chat.conversation(id);
    if (!conversation) {
      replaceChildren(headerPeer);
      blockButton.hidden = true;
      return;
    }
    const peer = conversation.peer;
    const presence = chat.presenceOf(conversation);
    const typing = chat.isTyping(id);
    const line = typing ? 'typing…' : presenceText(presence) || `@${peer.username}`;
    replaceChildren(
      headerPeer,
      h('span', { class: 'relative' }, avatar(peer), presenceDot(presence)),
      h(
        'div',
        { class: 'min-w-0' },
        h('h2', { class: 'truncate font-semibold', id: 'thread-title', dataset: { threadTitle: '' } }, displayNameOf(peer)),
        statusLine,
      ),
    );
    // One element for the whole life of the thread, so screen readers announce its changes.
    statusLine.className = `truncate text-xs ${typing ? 'font-medium text-accent' : 'text-muted'}`;
    statusLine.textContent = line;
    if (typing) {
      statusLine.dataset.typing = '';
      delete statusLine.dataset.presenceLine;
    } else {
      statusLine.dataset.presenceLine = '';
      delete statusLine.dataset.typing;
    }
    blockButton.hidden = false;
    if (callSlot.dataset.callSlot !== peer.username) {
      callSlot.dataset.callSlot = peer.username;
      replaceChildren(callSlot, callButtons({ callee: peer.username, conversation_id: id, name: displayNameOf(peer), signal: done }));
    }
    callSlot.hidden = Boolean(conversation.blocked);
    blockButton.textContent = conversation.blocked ? 'Unblock' : 'Block';
    blockButton.setAttribute('aria-label', `${conversation.blocked ? 'Unblock' : 'Block'} ${displayNameOf(peer)}`);
    composer.hidden = Boolean(conversation.blocked);
    chipRow.hidden = !draft || Boolean(conversation.blocked);
    blockedNote.hidden = !conversation.blocked;
    blockedNote.textContent = conversation.blocked ? `You blocked ${displayNameOf(peer)}. Unblock to send messages.` : '';
  }

  function nearBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR_BOTTOM_PX;
  }

  function renderMessages({ stickToBottom = false, keepOffsetFromBottom = null } = {}) {
    const thread = chat.thread(id);
    if (!thread) return;
    if (!thread.loaded) {
      if (thread.error) {
        const missing = thread.errorStatus === 404;
        replaceChildren(
          body,
          h(
            'div',
            { class: 'm-auto max-w-sm p-6' },
            notice('error', missing ? 'This conversation does not exist or is not yours.' : thread.error),
            missing
              ? null
              : h('button', { type: 'button', class: `${BUTTON} mt-3`, onClick: () => chat.loadThread(id), signal: done }, 'Try again'),
          ),
        );
      }
      return;
    }
    if (body.firstChild !== scroller) replaceChildren(body, scroller, blockedNote, chipRow, composer);
    const conversation = chat.conversation(id);
    const peerName = conversation ? displayNameOf(conversation.peer) : 'They';
    const messages = chat.messagesOf(id);
    const wasNearBottom = nearBottom();
    const nodes = [];
    const keep = new Set();
    let lastDay = '';
    for (const message of messages) {
      const day = dayKey(message.created_at);
      if (day !== lastDay) {
        lastDay = day;
        const key = `day:${day}`;
        keep.add(key);
        let entry = items.get(key);
        const label = dayLabel(message.created_at);
        if (!entry || entry.signature !== label) {
          entry = {
            signature: label,
            node: h(
              'li',
              { class: 'sticky top-1 z-10 my-2 flex justify-center', dataset: { day: '' } },
              h('span', { class: 'rounded-full border border-line bg-surface px-3 py-0.5 text-xs font-medium text-muted shadow-sm' }, label),
            ),
          };
          items.set(key, entry);
        }
        nodes.push(entry.node);
      }
      const key = message.pending ? `c:${message.client_id}` : `s:${message.seq}`;
      keep.add(key);
      const own = message.sender_id === chat.me;
      const isEditing = editing === message.id && !message.pending;
      const signature = itemSignature(message, isEditing);
      let entry = items.get(key);
      if (!entry || entry.signature !== signature) {
        entry = { signature, node: buildItem(message, own, peerName, isEditing) };
        items.set(key, entry);
      }
      nodes.push(entry.node);
    }
    for (const key of [...items.keys()]) if (!keep.has(key)) items.delete(key);
    reconcile(list, nodes);
    emptyState.hidden = messages.length > 0;
    replaceChildren(
      olderStatus,
      thread.loading ? [spinner(), h('span', { class: 'ml-2' }, 'Loading earlier messages…')] : null,
      !thread.loading && thread.loaded && !thread.hasMore && messages.length > 0
        ? h('span', { class: 'text-xs' }, 'This is the start of your conversation.')
        : null,
      !thread.loading && thread.error ? h('span', { class: 'text-bad' }, thread.error) : null,
    );
    if (keepOffsetFromBottom != null) scroller.scrollTop = scroller.scrollHeight - keepOffsetFromBottom;
    else if (firstPaint || stickToBottom || wasNearBottom) scroller.scrollTop = scroller.scrollHeight;
    firstPaint = false;
    // Not enough to scroll yet: fetch more so the user can.
    if (thread.hasMore && !thread.loading && scroller.scrollHeight <= scroller.clientHeight + 10) loadOlder();
  }

  function buildItem(message, own, peerName, isEditing) {
    return messageItem(message, {
      own,
      peerName,
      editing: isEditing,
      onEdit: () => {
        editing = message.id;
        renderMessages();
      },
      onCancelEdit: () => {
        editing = null;
        renderMessages();
        composerInput.focus();
      },
      onSave: async (text) => {
        await chat.edit(id, message.id, text);
        editing = null;
        renderMessages();
        composerInput.focus();
      },
      onDelete: async () => {
        const yes = await confirmAction({
          title: 'Delete message?',
          text: 'It will be deleted for everyone in this conversation.',
          confirmLabel: 'Delete for everyone',
        });
        if (!yes) return;
        try {
          await chat.remove(id, message.id);
        } catch (error) {
          showError(error?.message || 'The message could not be deleted.');
        }
      },
      onRetry: () => chat.retry(id, message.client_id),
      onDiscard: () => chat.discard(id, message.client_id),
    });
  }

  const errorLine = h('p', { class: 'px-3 pb-1 text-xs text-bad', role: 'alert' });
  function showError(text) {
    errorLine.textContent = text;
    if (!errorLine.isConnected) composer.before(errorLine);
    setTimeout(() => {
      if (errorLine.textContent === text) errorLine.remove();
    }, 6000);
  }

  async function loadOlder() {
    const thread = chat.thread(id);
    if (!thread || thread.loading || !thread.hasMore) return;
    const offset = scroller.scrollHeight - scroller.scrollTop;
    pendingOffset = offset;
    await chat.loadOlder(id);
  }
  let pendingOffset = null;

  function markReadIfSeen() {
    if (document.visibilityState === 'visible') chat.markRead(id);
  }

  // -- events --
  chat.active = id;
  done.addEventListener('abort', () => {
    if (chat.active === id) chat.active = null;
    chat.stopTyping(id);
  });
  const unsubscribe = chat.subscribe((change) => {
    if (change.kind === 'reset') return;
    if (change.conversationId && change.conversationId !== id) {
      if (change.kind !== 'presence') return;
    }
    if (change.kind === 'thread') {
      if (change.page != null && pendingOffset != null) {
        const offset = pendingOffset;
        pendingOffset = null;
        renderMessages({ keepOffsetFromBottom: offset });
      } else renderMessages({ stickToBottom: Boolean(change.sent) });
      markReadIfSeen();
    }
    if (change.kind === 'list' || change.kind === 'presence' || change.kind === 'typing') renderHeader();
  });
  done.addEventListener('abort', unsubscribe);
  document.addEventListener('visibilitychange', markReadIfSeen, { signal: done });

  scroller.addEventListener(
    'scroll',
    () => {
      if (scroller.scrollTop < LOAD_OLDER_PX) loadOlder();
    },
    { signal: done, passive: true },
  );

  blockButton.addEventListener(
    'click',
    async () => {
      const conversation = chat.conversation(id);
      if (!conversation) return;
      const name = displayNameOf(conversation.peer);
      const blocking = !conversation.blocked;
      if (blocking) {
        const yes = await confirmAction({
          title: `Block ${name}?`,
          text: 'Neither of you will be able to send messages to the other or see each other online. You can unblock at any time.',
          confirmLabel: 'Block',
        });
        if (!yes) return;
      }
      blockButton.disabled = true;
      try {
        if (blocking) await blockUser(conversation.peer.username);
        else await unblockUser(conversation.peer.username);
        await chat.refreshConversation(id);
      } catch (error) {
        showError(error?.message || 'That did not work. Try again.');
      } finally {
        blockButton.disabled = false;
        blockButton.focus();
      }
    },
    { signal: done },
  );

  function autosize() {
    composerInput.style.height = 'auto';
    composerInput.style.height = `${Math.min(MAX_COMPOSER_PX, composerInput.scrollHeight + 2)}px`;
  }
  function submit() {
    const text = composerInput.value.trim();
    if (!text) return;
    chat.send(id, text, draft);
    if (draft) {
      draft = null;
      clearCodeRefDraft();
      renderChip();
    }
    composerInput.value = '';
    autosize();
    composerInput.focus();
  }
  composer.addEventListener(
    'submit',
    (event) => {
      event.preventDefault();
      submit();
    },
    { signal: done },
  );
  composerInput.addEventListener(
    'keydown',
    (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        submit();
      }
    },
    { signal: done },
  );
  composerInput.addEventListener(
    'input',
    () => {
      autosize();
      if (composerInput.value.trim()) chat.typing(id);
      else chat.stopTyping(id);
    },
    { signal: done },
  );

  renderChip();
  renderHeader();
  if (!chat.conversation(id) && chat.listState === 'ready') chat.refreshConversation(id).catch(() => {});
  chat.loadThread(id);
  renderMessages();
  markReadIfSeen();

  return {
    destroy() {
      local.abort();
    },
    focusComposer() {
      if (!composer.hidden && composer.isConnected) composerInput.focus();
    },
  };
}
