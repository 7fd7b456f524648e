// Chat outside the messages view: follow the signed-in user's conversations, show the unread
// total in the title and on the "Messages" link, and raise a browser notification for a new
// message while the tab is hidden (only once the user granted permission from a button).

import { getSession, onSessionChange } from '../auth/session.js';
import { h, replaceChildren } from '../dom.js';
import { displayNameOf } from '../ui/avatar.js';
import { setTitleUnread } from '../shell/page-title.js';

// The chat state is loaded on sign-in, not with the first page (it is not needed signed out).
let chat = null;
let loading = null;
function loadChat() {
  loading ??= import('./chat-store.js').then((module) => {
    chat = module.chat;
    chat.subscribe((change) => {
      if (change.kind === 'list' || change.kind === 'reset' || change.kind === 'incoming') showUnread();
      notify(change);
    });
    return chat;
  });
  return loading;
}

const NOTIFICATION_CHARS = 140;

function showUnread() {
  const total = chat.totalUnread();
  setTitleUnread(total);
  for (const badge of document.querySelectorAll('[data-unread-badge]')) {
    badge.hidden = total === 0;
    replaceChildren(
      badge,
      h('span', { 'aria-hidden': 'true', dataset: { unreadTotal: String(total) } }, total > 99 ? '99+' : String(total)),
      h('span', { class: 'sr-only' }, total === 1 ? ', 1 unread message' : `, ${total} unread messages`),
    );
  }
}

function notify(change) {
  if (change.kind !== 'incoming' || document.visibilityState !== 'hidden') return;
  if (typeof Notification !== 'function' || Notification.permission !== 'granted') return;
  const conversation = chat.conversation(change.conversationId);
  if (!conversation) return;
  const text = change.message.body.length > NOTIFICATION_CHARS
    ? `${change.message.body.slice(0, NOTIFICATION_CHARS - 1)}…`
    : change.message.body;
  try {
    const notification = new Notification(displayNameOf(conversation.peer), {
      body: text,
      tag: `conversation-${conversation.id}`,
    });
    notification.addEventListener('click', () => {
      window.focus();
      const target = `/messages/${conversation.id}`;
      if (window.location.pathname !== target) {
        history.pushState(null, '', target);
        window.dispatchEvent(new PopStateEvent('popstate'));
      }
      notification.close();
    });
  } catch {
    // Some browsers only allow notifications from a service worker; the badge still shows.
  }
}

/** For the life of the page: run the chat state while signed in, and its indicators. */
export function startChatWhenSignedIn() {
  const follow = (state) => {
    if (state.status === 'signed-in') loadChat().then((store) => getSession().status === 'signed-in' && store.start());
    else if (state.status === 'signed-out') chat?.stop();
  };
  onSessionChange(follow);
  follow(getSession());
}
