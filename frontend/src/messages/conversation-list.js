// The conversation list: search box (filters the list, finds people, starts a conversation by
// username), then one row per conversation with avatar, presence, last message, time and
// unread count.

import { h, replaceChildren } from '../dom.js';
import { avatar, displayNameOf } from '../ui/avatar.js';
import { notice } from '../ui/notice.js';
import { loadingLine, spinner } from '../ui/spinner.js';
import { chat } from './chat-store.js';
import { listTime } from './chat-format.js';
import { searchUsers } from './messages-api.js';
import { presenceDot } from './presence-dot.js';
import { ticks } from './ticks.js';

const USERNAME = /^[a-z0-9_-]{2,32}$/;
const SEARCH_DELAY_MS = 250;

function preview(conversation) {
  const message = conversation.last_message;
  if (chat.isTyping(conversation.id)) return h('span', { class: 'font-medium text-accent' }, 'typing…');
  if (!message) return h('span', { class: 'italic' }, 'No messages yet');
  const own = message.sender_id === chat.me;
  const text = message.deleted
    ? h('span', { class: 'italic' }, own ? 'You deleted this message' : 'This message was deleted')
    : h('span', { class: 'truncate' }, message.body.replace(/\s+/g, ' ').slice(0, 200));
  return [own && !message.deleted ? ticks(message.status) : null, text];
}

function row(conversation, active) {
  const peer = conversation.peer;
  const unread = Number(conversation.unread_count) || 0;
  const time = conversation.last_message?.created_at ?? conversation.updated_at;
  return h(
    'li',
    null,
    h(
      'a',
      {
        href: `/messages/${conversation.id}`,
        class:
          'flex items-center gap-3 px-3 py-2.5 hover:bg-subtle aria-[current=page]:bg-subtle focus-visible:-outline-offset-2',
        'aria-current': active ? 'page' : null,
        dataset: { conversationId: conversation.id, unread: String(unread) },
      },
      h('span', { class: 'relative' }, avatar(peer), presenceDot(chat.presenceOf(conversation))),
      h(
        'span',
        { class: 'flex min-w-0 flex-1 flex-col' },
        h(
          'span',
          { class: 'flex items-baseline gap-2' },
          h('span', { class: `truncate ${unread ? 'font-semibold' : 'font-medium'} text-fg` }, displayNameOf(peer)),
          h('span', { class: `ml-auto shrink-0 text-xs ${unread ? 'font-semibold text-accent' : 'text-muted'}` }, listTime(time)),
        ),
        h(
          'span',
          { class: 'flex items-center gap-2 text-sm text-muted' },
          h('span', { class: 'flex min-w-0 flex-1 items-center gap-1', dataset: { preview: '' } }, preview(conversation)),
          unread
            ? h(
                'span',
                {
                  class: 'min-w-5 shrink-0 rounded-full bg-accent px-1.5 text-center text-xs leading-5 font-semibold text-on-accent',
                  dataset: { unreadCount: '' },
                },
                h('span', { 'aria-hidden': 'true' }, unread > 99 ? '99+' : String(unread)),
                h('span', { class: 'sr-only' }, `${unread} unread`),
              )
            : null,
        ),
      ),
    ),
  );
}

/**
 * @param {HTMLElement} container
 * @param {{signal: AbortSignal, onOpen: (conversationId: string) => void}} options
 */
export function renderConversationList(container, { signal, onOpen }) {
  let activeId = null;
  let query = '';
  let people = []; // search results
  let searching = false;
  let searchTimer = 0;
  let searchController = null;
  let startError = '';

  const input = h('input', {
    type: 'search',
    id: 'conversation-search',
    placeholder: 'Search or start a new chat',
    autocomplete: 'off',
    spellcheck: 'false',
    maxlength: '64',
    class: 'w-full rounded-full border border-line bg-canvas px-4 py-1.5 text-sm text-fg placeholder:text-muted',
    dataset: { conversationSearch: '' },
  });
  const searchBox = h(
    'div',
    { class: 'border-b border-line px-3 py-2', role: 'search' },
    h('label', { for: 'conversation-search', class: 'sr-only' }, 'Search conversations or find people by username'),
    input,
  );
  const body = h('div', { class: 'min-h-0 flex-1 overflow-y-auto', dataset: { conversationList: '' } });
  replaceChildren(container, searchBox, body);

  function matches(conversation) {
    if (!query) return true;
    const q = query.toLowerCase();
    return (
      conversation.peer.username.toLowerCase().includes(q) || displayNameOf(conversation.peer).toLowerCase().includes(q)
    );
  }

  async function startWith(username) {
    startError = '';
    try {
      const conversation = await chat.openWith(username);
      input.value = '';
      query = '';
      people = [];
      onOpen(conversation.id);
    } catch (error) {
      startError =
        error?.status === 404
          ? `Nobody here is called @${username}.`
          : error?.code === 'cannot_message_self'
            ? 'That is you.'
            : error?.message || 'The conversation could not be started.';
      update();
    }
  }

  function peopleSection(shownIds) {
    const known = new Set([...chat.conversations()].filter((c) => shownIds.has(c.id)).map((c) => c.peer.username));
    const normalized = query.toLowerCase().replace(/^@/, '');
    const candidates = people.filter((person) => !known.has(person.username));
    const exact = people.some((p) => p.username === normalized) || known.has(normalized);
    const rows = candidates.map((person) =>
      h(
        'li',
        null,
        h(
          'button',
          {
            type: 'button',
            class: 'flex w-full items-center gap-3 px-3 py-2 text-left hover:bg-subtle',
            dataset: { startUser: person.username },
            onClick: () => startWith(person.username),
          },
          avatar(person),
          h(
            'span',
            { class: 'flex min-w-0 flex-col' },
            h('span', { class: 'truncate font-medium' }, displayNameOf(person)),
            h('span', { class: 'truncate text-sm text-muted' }, `@${person.username}`),
          ),
        ),
      ),
    );
    if (!exact && USERNAME.test(normalized)) {
      rows.push(
        h(
          'li',
          null,
          h(
            'button',
            {
              type: 'button',
              class: 'flex w-full items-center gap-3 px-3 py-2 text-left text-sm font-medium text-accent hover:bg-subtle',
              dataset: { startUsername: normalized },
              onClick: () => startWith(normalized),
            },
            `Start a conversation with @${normalized}`,
          ),
        ),
      );
    }
    if (!rows.length && !searching && !startError) return null;
    return h(
      'section',
      { class: 'border-t border-line py-2', 'aria-labelledby': 'people-heading' },
      h('h2', { id: 'people-heading', class: 'px-3 pb-1 text-xs font-semibold tracking-wide text-muted uppercase' }, 'People'),
      searching ? h('p', { class: 'flex items-center gap-2 px-3 py-1 text-sm text-muted' }, spinner(), 'Searching…') : null,
      h('ul', { role: 'list' }, rows),
      startError ? h('p', { class: 'px-3 py-1 text-sm text-bad', role: 'alert' }, startError) : null,
    );
  }

  function update() {
    if (chat.listState === 'loading' || chat.listState === 'idle') {
      replaceChildren(body, h('div', { class: 'p-4' }, loadingLine('Loading conversations…')));
      return;
    }
    if (chat.listState === 'error') {
      replaceChildren(
        body,
        h(
          'div',
          { class: 'p-4' },
          notice('error', chat.listError),
          h(
            'button',
            {
              type: 'button',
              class: 'mt-3 rounded-md border border-line bg-surface px-3 py-1.5 text-sm font-medium hover:bg-subtle',
              onClick: () => chat.loadConversations(),
            },
            'Try again',
          ),
        ),
      );
      return;
    }
    const all = chat.conversations();
    const shown = all.filter(matches);
    const shownIds = new Set(shown.map((c) => c.id));
    const focusedId = document.activeElement?.closest?.('[data-conversation-id]')?.dataset.conversationId;
    const list = h('ul', { role: 'list', class: 'divide-y divide-line/60', 'aria-label': 'Conversations' }, shown.map((c) => row(c, c.id === activeId)));
    let empty = null;
    if (!all.length && !query) {
      empty = h(
        'div',
        { class: 'p-6 text-center text-sm text-muted', dataset: { conversationsEmpty: '' } },
        h('p', { class: 'font-medium text-fg' }, 'No conversations yet'),
        h('p', { class: 'mt-1' }, 'Type a username in the search box to start one.'),
      );
    } else if (!shown.length) {
      empty = h('p', { class: 'p-4 text-sm text-muted' }, 'No conversations match.');
    }
    replaceChildren(body, shown.length ? list : null, empty, query ? peopleSection(shownIds) : null);
    if (focusedId) body.querySelector(`[data-conversation-id="${focusedId}"]`)?.focus();
  }

  input.addEventListener(
    'input',
    () => {
      query = input.value.trim();
      startError = '';
      clearTimeout(searchTimer);
      searchController?.abort();
      const prefix = query.toLowerCase().replace(/^@/, '');
      people = [];
      searching = USERNAME.test(prefix);
      update();
      if (!searching) return;
      searchTimer = setTimeout(async () => {
        searchController = new AbortController();
        try {
          people = await searchUsers(prefix, searchController.signal);
        } catch {
          people = [];
        }
        if (query.toLowerCase().replace(/^@/, '') !== prefix) return;
        searching = false;
        update();
      }, SEARCH_DELAY_MS);
    },
    { signal },
  );
  input.addEventListener(
    'keydown',
    (event) => {
      if (event.key === 'Escape' && input.value) {
        input.value = '';
        input.dispatchEvent(new Event('input'));
      } else if (event.key === 'ArrowDown') {
        event.preventDefault();
        body.querySelector('a, button')?.focus();
      }
    },
    { signal },
  );
  // Up and down arrows move between the rows (and back to the search box from the first).
  body.addEventListener(
    'keydown',
    (event) => {
      if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
      const targets = [...body.querySelectorAll('a[data-conversation-id], button')];
      const index = targets.indexOf(document.activeElement);
      if (index < 0) return;
      event.preventDefault();
      const next = index + (event.key === 'ArrowDown' ? 1 : -1);
      if (next < 0) input.focus();
      else targets[Math.min(next, targets.length - 1)].focus();
    },
    { signal },
  );
  body.addEventListener(
    'click',
    (event) => {
      const link = event.target instanceof Element ? event.target.closest('a[data-conversation-id]') : null;
      if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      onOpen(link.dataset.conversationId);
    },
    { signal },
  );
  const unsubscribe = chat.subscribe((change) => {
    if (['list', 'presence', 'typing', 'reset'].includes(change.kind)) update();
  });
  signal.addEventListener('abort', () => {
    unsubscribe();
    clearTimeout(searchTimer);
    searchController?.abort();
  });

  update();
  return {
    update,
    setActive(id) {
      activeId = id;
      update();
    },
  };
}
