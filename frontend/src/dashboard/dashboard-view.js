// The signed-in landing page (/ and /dashboard): my workspaces, recent files, unread
// conversations, missed calls, people I follow with presence and what they edit, invitations,
// devices and recent activity. Kept live by the events socket (presence, follow, workspace and
// message frames trigger a refresh) with a periodic refresh as a fallback for missed frames.

import { h, replaceChildren } from '../dom.js';
import { messageOf } from '../api/api-error.js';
import { getSession } from '../auth/session.js';
import { events } from '../events/events-socket.js';
import { getDashboard } from '../profile/social-api.js';
import { displayNameOf } from '../ui/avatar.js';
import { secondaryButton } from '../ui/form-controls.js';
import { notice } from '../ui/notice.js';
import { loadingLine } from '../ui/spinner.js';
import { pageHeading } from '../views/page-layout.js';
import { activityFeed } from './activity-feed.js';
import { nameOf } from './parts.js';
import {
  conversationsCard, followingCard, invitationsCard, missedCallsCard, recentFilesCard, sessionsCard, workspacesCard,
} from './sections.js';

const REFRESH_MS = 15000;
const FRAME_DEBOUNCE_MS = 800;
const REFRESH_FRAMES = [
  'follow', 'workspace.event', 'message', 'message.sent', 'conversation.read', 'conversation',
  'call.ringing', 'call.updated', 'call.ended',
];

function arr(value) {
  return Array.isArray(value) ? value : [];
}

function greeting(now = new Date()) {
  const hour = now.getHours();
  if (hour < 5 || hour >= 18) return 'Good evening';
  return hour < 12 ? 'Good morning' : 'Good afternoon';
}

/** Some people come as {username, display_name} only: take their avatar from what else we know. */
function withAvatar(person, byName) {
  const known = byName.get(person?.username);
  if (!known || person.avatar_color || person.avatar_url) return person;
  return { ...person, avatar_color: known.avatar_color, avatar_url: known.avatar_url };
}

function withAvatars(data) {
  const byName = new Map(arr(data.following).map((p) => [p.username, p]));
  return {
    ...data,
    workspaces: arr(data.workspaces).map((w) => ({ ...w, members_online: arr(w.members_online).map((m) => withAvatar(m, byName)) })),
    unread_conversations: arr(data.unread_conversations).map((c) => ({ ...c, other: withAvatar(c.other, byName) })),
  };
}

/** Each card with the slice of the answer it shows (so unchanged cards are not re-rendered). */
function cardsOf(raw) {
  const data = withAvatars(raw);
  return {
    workspaces: [workspacesCard, arr(data.workspaces)],
    recent: [recentFilesCard, arr(data.recent_files)],
    following: [followingCard, arr(data.following)],
    messages: [conversationsCard, arr(data.unread_conversations)],
    calls: [missedCallsCard, Array.isArray(data.missed_calls) ? data.missed_calls : null],
    invitations: [invitationsCard, arr(data.pending_invitations)],
    sessions: [sessionsCard, arr(data.sessions)],
  };
}

export const dashboardView = {
  title: 'Dashboard',
  render(outlet, { signal }) {
    const user = getSession().user ?? {};
    const live = h('div', { role: 'status', class: 'empty:hidden', dataset: { dashboardLive: '' } });
    const staleNote = h('div', { class: 'empty:hidden' });
    const content = h('div', { class: 'mt-6' }, loadingLine('Loading your dashboard…'));
    const root = h(
      'div',
      { class: 'mx-auto w-full max-w-6xl px-4 py-8', dataset: { view: 'dashboard', dashboardState: 'loading' } },
      h(
        'div',
        { class: 'flex flex-wrap items-end justify-between gap-3' },
        h(
          'div',
          null,
          pageHeading('Dashboard'),
          h('p', { class: 'mt-1 text-muted' }, `${greeting()}, ${displayNameOf(user)}.`),
        ),
        h(
          'p',
          { class: 'hidden text-sm text-muted sm:block' },
          'Press ',
          h('kbd', { class: 'rounded border border-line bg-subtle px-1.5 py-0.5 font-mono text-xs' }, navigator.platform?.startsWith('Mac') ? '⌘ K' : 'Ctrl K'),
          ' to jump to a workspace, file, person or conversation.',
        ),
      ),
      live,
      staleNote,
      content,
    );
    outlet.append(root);

    const slots = {};
    const shownKeys = {};
    let data = null;
    let feed = null;
    let inFlight = null;
    let again = false;

    function layout() {
      for (const name of ['workspaces', 'recent', 'following', 'messages', 'calls', 'invitations', 'sessions']) {
        slots[name] = h('div', { class: 'contents' });
        shownKeys[name] = '';
      }
      feed = activityFeed({ signal });
      replaceChildren(
        content,
        h(
          'div',
          { class: 'grid gap-5 md:grid-cols-2 lg:grid-cols-[minmax(0,1fr)_minmax(0,22rem)]' },
          h('div', { class: 'flex min-w-0 flex-col gap-5' }, slots.workspaces, slots.recent, feed.card),
          h('div', { class: 'flex min-w-0 flex-col gap-5' }, slots.following, slots.messages, slots.calls, slots.invitations, slots.sessions),
        ),
      );
    }

    function show() {
      for (const [name, [render, slice]] of Object.entries(cardsOf(data))) {
        const key = JSON.stringify(slice);
        if (key === shownKeys[name]) continue;
        shownKeys[name] = key;
        const focused = slots[name].contains(document.activeElement) ? document.activeElement : null;
        const href = focused?.getAttribute('href');
        replaceChildren(slots[name], render(slice));
        if (!focused) continue;
        // Keep keyboard users where they were: the same link if it is still there, else the card.
        const same = href ? [...slots[name].querySelectorAll('a[href]')].find((a) => a.getAttribute('href') === href) : null;
        const heading = slots[name].querySelector('h2');
        heading?.setAttribute('tabindex', '-1');
        (same ?? heading)?.focus();
      }
    }

    async function load() {
      if (inFlight) {
        again = true;
        return inFlight;
      }
      inFlight = (async () => {
        try {
          const fresh = await getDashboard(signal);
          if (signal.aborted) return;
          if (!data) layout();
          data = fresh;
          root.dataset.dashboardState = 'ready';
          staleNote.replaceChildren();
          show();
        } catch (error) {
          if (signal.aborted || getSession().status !== 'signed-in') return;
          if (data) {
            // Keep what is shown; say it may be out of date.
            replaceChildren(staleNote, h('div', { class: 'mt-4' }, notice('warning', `Could not refresh the dashboard: ${messageOf(error)}`)));
            return;
          }
          root.dataset.dashboardState = 'error';
          replaceChildren(
            content,
            notice('error', `Your dashboard could not be loaded. ${messageOf(error)}`),
            h('div', { class: 'mt-4' }, secondaryButton('Try again', { onClick: () => load(), signal })),
          );
        }
      })();
      try {
        await inFlight;
      } finally {
        inFlight = null;
        if (again && !signal.aborted) {
          again = false;
          load();
        }
      }
    }

    let debounce = 0;
    const soon = () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => load(), FRAME_DEBOUNCE_MS);
    };

    /** A presence frame updates the dot at once; the refresh that follows brings the activity. */
    function onPresence(frame) {
      if (!data) return;
      const person = arr(data.following).find((p) => p.id === frame.user_id);
      if (!person) return;
      person.presence = { status: frame.status, last_seen_at: frame.last_seen_at ?? null };
      if (frame.status === 'offline') person.activity = null;
      show();
      soon();
    }

    function onFollow(frame) {
      const who = frame.user ?? {};
      replaceChildren(live, h('div', { class: 'mt-4' }, notice('info', `${nameOf(who)} started following you.`)));
    }

    const unsubscribe = [
      events.on('presence', onPresence),
      events.on('presence.snapshot', soon),
      events.on('follow', onFollow),
      ...REFRESH_FRAMES.map((type) => events.on(type, soon)),
      events.onState((state) => state === 'open' && data && soon()),
    ];
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') load();
    }, REFRESH_MS);
    document.addEventListener('visibilitychange', () => document.visibilityState === 'visible' && soon(), { signal });
    signal.addEventListener('abort', () => {
      clearInterval(timer);
      clearTimeout(debounce);
      for (const off of unsubscribe) off();
    });

    load();
  },
};
