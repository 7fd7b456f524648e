// /messages and /messages/{conversation_id}: the conversation list beside the open thread
// (one at a time on narrow screens), a banner while the live connection is down, and the
// button that asks for notification permission (browsers only allow that from a gesture).

import { h, replaceChildren } from '../dom.js';
import { events } from '../events/events-socket.js';
import { setPageTitle } from '../shell/page-title.js';
import { displayNameOf } from '../ui/avatar.js';
import { chat } from './chat-store.js';
import { renderConversationList } from './conversation-list.js';
import { renderThread } from './thread-view.js';

const PATH = /^\/messages(?:\/([0-9a-f]{32}))?\/?$/;
const BANNER_DELAY_MS = 1500;

function conversationIdFrom(pathname) {
  return PATH.exec(pathname)?.[1] ?? null;
}

function notificationButton(signal) {
  if (typeof Notification !== 'function' || Notification.permission !== 'default') return null;
  const button = h(
    'button',
    {
      type: 'button',
      class: 'rounded-md border border-line px-2 py-1 text-xs font-medium text-muted hover:bg-subtle hover:text-fg',
      dataset: { enableNotifications: '' },
      signal,
    },
    'Turn on notifications',
  );
  button.addEventListener(
    'click',
    async () => {
      try {
        await Notification.requestPermission();
      } finally {
        button.remove();
      }
    },
    { signal },
  );
  return button;
}

function connectionBanner(signal) {
  const banner = h(
    'div',
    {
      class: 'mb-3 flex items-center gap-2 rounded-md border border-wait/40 bg-wait-bg px-3 py-2 text-sm text-wait',
      role: 'status',
      hidden: true,
      dataset: { connectionBanner: '' },
    },
    h('span', { class: 'flex-1' }, 'Connection lost. Reconnecting… Messages you send now are kept and go out when it is back.'),
    h(
      'button',
      {
        type: 'button',
        class: 'shrink-0 rounded-md border border-wait/40 px-2 py-0.5 text-xs font-semibold hover:bg-wait/10',
        onClick: () => events.reconnectNow(),
        signal,
      },
      'Try now',
    ),
  );
  let timer = 0;
  const show = () => {
    clearTimeout(timer);
    if (events.state === 'open') banner.hidden = true;
    else timer = setTimeout(() => (banner.hidden = events.state === 'open'), BANNER_DELAY_MS);
  };
  const off = events.onState(show);
  signal.addEventListener('abort', () => {
    off();
    clearTimeout(timer);
  });
  show();
  return banner;
}

/** Let the panes fill the window below the header and any banners, like an app. */
function fitToViewport(grid, watched, signal) {
  const fit = () => {
    const top = grid.getBoundingClientRect().top + window.scrollY;
    grid.style.height = `${Math.max(416, window.innerHeight - top - (window.innerWidth >= 640 ? 16 : 0))}px`;
  };
  window.addEventListener('resize', fit, { signal });
  if (typeof ResizeObserver === 'function') {
    const observer = new ResizeObserver(fit);
    for (const element of watched) if (element) observer.observe(element);
    signal.addEventListener('abort', () => observer.disconnect());
  }
  requestAnimationFrame(fit);
}

export const messagesView = {
  title: 'Messages',
  render(outlet, { signal }) {
    const listPane = h('section', {
      class: 'flex min-h-0 flex-1 flex-col',
      'aria-label': 'Conversations',
      dataset: { listPane: '' },
    });
    const threadPane = h('section', { class: 'flex min-h-0 flex-col', 'aria-labelledby': 'thread-title', dataset: { threadPane: '' } });
    const heading = h('h1', { class: 'text-xl font-bold tracking-tight', tabindex: '-1' }, 'Messages');
    const root = h(
      'div',
      { class: 'mx-auto flex w-full max-w-6xl flex-1 flex-col px-0 py-0 sm:px-4 sm:py-4', dataset: { view: 'messages' } },
      connectionBanner(signal),
      h(
        'div',
        {
          class:
            'grid h-[calc(100dvh-8.5rem)] min-h-[26rem] grid-cols-1 overflow-hidden border-line bg-surface sm:rounded-lg sm:border md:grid-cols-[minmax(16rem,22rem)_1fr]',
        },
        h(
          'div',
          { class: 'flex min-h-0 flex-col border-line md:border-r', dataset: { listColumn: '' } },
          h('div', { class: 'flex items-center justify-between gap-2 px-3 pt-3 pb-2' }, heading, notificationButton(signal)),
          listPane,
        ),
        threadPane,
      ),
    );
    outlet.replaceChildren(root);
    const listColumn = root.querySelector('[data-list-column]');
    fitToViewport(root.lastElementChild, [document.getElementById('banners'), root.firstElementChild], signal);

    let current = null; // {id, thread}
    const list = renderConversationList(listPane, { signal, onOpen: (id) => go(id, { focusComposer: true }) });

    function placeholder() {
      return h(
        'div',
        { class: 'm-auto max-w-xs p-6 text-center text-sm text-muted', dataset: { threadPlaceholder: '' } },
        h('p', { class: 'font-medium text-fg' }, 'Your messages'),
        h('p', { class: 'mt-1' }, 'Pick a conversation, or search for someone by username to start one.'),
      );
    }

    function titleFor(id) {
      const conversation = id ? chat.conversation(id) : null;
      setPageTitle(conversation ? `${displayNameOf(conversation.peer)} · Messages` : 'Messages');
    }

    function show(id, { focusComposer = false } = {}) {
      if (current?.id === id) return;
      current?.thread?.destroy();
      current = { id, thread: null };
      list.setActive(id);
      // Narrow screens show one pane at a time.
      listColumn.classList.toggle('hidden', Boolean(id));
      listColumn.classList.toggle('md:flex', Boolean(id));
      threadPane.classList.toggle('hidden', !id);
      threadPane.classList.toggle('md:flex', !id);
      if (id) {
        current.thread = renderThread(threadPane, id, { signal });
        if (focusComposer) current.thread.focusComposer();
      } else replaceChildren(threadPane, placeholder());
      titleFor(id);
    }

    function go(id, options) {
      const target = id ? `/messages/${id}` : '/messages';
      if (window.location.pathname !== target) history.pushState(null, '', target);
      show(id, options);
    }

    window.addEventListener(
      'popstate',
      () => {
        if (PATH.test(window.location.pathname)) show(conversationIdFrom(window.location.pathname));
      },
      { signal },
    );
    threadPane.addEventListener(
      'click',
      (event) => {
        const back = event.target instanceof Element ? event.target.closest('[data-back-link]') : null;
        if (!back || event.button !== 0 || event.metaKey || event.ctrlKey) return;
        event.preventDefault();
        go(null);
        listPane.querySelector('[data-conversation-search]')?.focus();
      },
      { signal },
    );
    const unsubscribe = chat.subscribe((change) => {
      if (change.kind === 'list' && current?.id) titleFor(current.id);
    });
    signal.addEventListener('abort', () => {
      unsubscribe();
      current?.thread?.destroy();
    });

    if (chat.listState === 'idle') chat.loadConversations();
    show(conversationIdFrom(window.location.pathname));
  },
};
