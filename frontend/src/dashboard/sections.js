// The cards of the dashboard, each rendered from its part of GET /api/dashboard. Every card
// has an empty state that says what would appear there and how to get started.

import { h } from '../dom.js';
import { presenceText } from '../messages/chat-format.js';
import { avatar } from '../ui/avatar.js';
import { activityLine, avatarWithPresence, baseName, card, empty, nameOf, smallLink, timeAgo } from './parts.js';

const ROLE_LABEL = { owner: 'Owner', editor: 'Editor', viewer: 'Viewer' };
const MAX_FACES = 5;

function list(items, render, props = {}) {
  return h('ul', { class: 'divide-y divide-line', ...props }, items.map(render));
}

function onlineFaces(members) {
  if (!members.length) return h('span', { class: 'text-sm text-muted' }, 'Nobody online');
  const shown = members.slice(0, MAX_FACES);
  const names = members.map(nameOf).join(', ');
  return h(
    'span',
    { class: 'flex items-center gap-2', dataset: { membersOnline: String(members.length) } },
    h('span', { class: 'flex -space-x-2', 'aria-hidden': 'true' }, shown.map((m) => avatar(m))),
    h('span', { class: 'text-sm text-muted', title: names }, `${members.length} online`),
    h('span', { class: 'sr-only' }, `: ${names}`),
  );
}

export function workspacesCard(workspaces) {
  const body = workspaces.length
    ? list(workspaces, (w) =>
        h(
          'li',
          { class: 'flex flex-wrap items-center justify-between gap-x-4 gap-y-2 py-3', dataset: { workspaceId: w.id } },
          h(
            'div',
            { class: 'min-w-0' },
            h('a', { href: `/w/${w.id}`, class: 'font-semibold text-fg underline-offset-2 hover:underline' }, w.name),
            h(
              'p',
              { class: 'mt-0.5 text-sm text-muted' },
              ROLE_LABEL[w.role] ?? w.role ?? '',
              w.last_activity_at ? [' · active ', timeAgo(w.last_activity_at)] : null,
            ),
          ),
          onlineFaces(Array.isArray(w.members_online) ? w.members_online : []),
        ),
      )
    : empty('You are not in any workspace yet.', smallLink('/workspaces', 'Create a workspace'));
  return card({ id: 'dash-workspaces', title: 'Your workspaces', action: smallLink('/workspaces', 'All workspaces') }, body);
}

export function recentFilesCard(files) {
  const body = files.length
    ? list(files, (f) =>
        h(
          'li',
          { class: 'flex items-center justify-between gap-3 py-2.5', dataset: { recentFile: f.file_id } },
          h(
            'div',
            { class: 'min-w-0' },
            h('p', { class: 'truncate font-mono text-sm text-fg', title: f.path }, f.path),
            h('p', { class: 'truncate text-sm text-muted' }, f.workspace_name ?? '', f.opened_at ? [' · ', timeAgo(f.opened_at)] : null),
          ),
          h(
            'a',
            {
              href: `/w/${f.workspace_id}/f/${f.file_id}`,
              class: 'shrink-0 rounded-md border border-line px-3 py-1 text-sm font-medium text-fg hover:bg-subtle',
              'aria-label': `Resume ${baseName(f.path)} in ${f.workspace_name ?? 'its workspace'}`,
              dataset: { resume: '' },
            },
            'Resume',
          ),
        ),
      )
    : empty('Files you open in a workspace show up here, so you can pick up where you left off.');
  return card({ id: 'dash-recent', title: 'Recent files' }, body);
}

function lastMessageText(last) {
  if (typeof last === 'string') return last;
  if (last && typeof last === 'object') return last.deleted ? 'Message deleted' : String(last.body ?? '');
  return '';
}

export function conversationsCard(conversations) {
  const body = conversations.length
    ? list(conversations, (c) => {
        const count = Number(c.unread_count) || 0;
        return h(
          'li',
          { dataset: { unreadConversation: c.id } },
          h(
            'a',
            { href: `/messages/${c.id}`, class: '-mx-2 flex items-center gap-3 rounded-md px-2 py-2.5 hover:bg-subtle' },
            avatar(c.other ?? {}),
            h(
              'span',
              { class: 'min-w-0 flex-1' },
              h('span', { class: 'block truncate font-medium text-fg' }, nameOf(c.other)),
              h('span', { class: 'block truncate text-sm text-muted' }, lastMessageText(c.last_message)),
            ),
            h(
              'span',
              { class: 'min-w-6 rounded-full bg-accent px-2 text-center text-xs leading-5 font-semibold text-on-accent' },
              String(count),
              h('span', { class: 'sr-only' }, count === 1 ? ' unread message' : ' unread messages'),
            ),
          ),
        );
      })
    : empty('No unread messages.', smallLink('/messages', 'Open messages'));
  return card({ id: 'dash-messages', title: 'Unread messages', action: smallLink('/messages', 'All messages') }, body);
}

/** `calls` is null when the server does not report calls (say so rather than "no missed calls"). */
export function missedCallsCard(calls) {
  let body;
  if (calls == null) body = empty('Missed calls are not reported by this server yet.');
  else if (!calls.length) body = empty('No missed calls.');
  else {
    body = list(calls, (call) => {
      const who = call.caller ?? call.other ?? {};
      return h(
        'li',
        { class: 'flex items-center gap-3 py-2.5', dataset: { missedCall: call.id ?? '' } },
        avatar(who),
        h(
          'span',
          { class: 'min-w-0 flex-1' },
          h('span', { class: 'block truncate font-medium' }, nameOf(who)),
          h(
            'span',
            { class: 'block text-sm text-muted' },
            call.media === 'video' ? 'Missed video call' : 'Missed call',
            call.started_at ? [' · ', timeAgo(call.started_at)] : null,
          ),
        ),
        who.username ? smallLink(`/u/${encodeURIComponent(who.username)}`, 'Profile') : null,
      );
    });
  }
  return card({ id: 'dash-calls', title: 'Missed calls', action: smallLink('/calls', 'Calls') }, body);
}

export function followingCard(people) {
  const body = people.length
    ? list(
        people,
        (p) =>
          h(
            'li',
            {
              class: 'flex items-center gap-3 py-2.5',
              dataset: { following: '', username: p.username, presence: p.presence?.status ?? 'unknown' },
            },
            avatarWithPresence(p, p.presence),
            h(
              'div',
              { class: 'min-w-0 flex-1' },
              h(
                'p',
                { class: 'flex flex-wrap items-baseline gap-x-2' },
                h('a', { href: `/u/${encodeURIComponent(p.username)}`, class: 'truncate font-medium text-fg underline-offset-2 hover:underline' }, nameOf(p)),
                h('span', { class: 'text-sm text-muted', dataset: { presenceText: '' } }, presenceText(p.presence) || 'offline'),
              ),
              p.presence?.status !== 'offline' ? activityLine(p.activity) : null,
            ),
          ),
        { dataset: { followingList: '' } },
      )
    : empty('Follow people from their profile to see here when they are around and what they work on.');
  return card({ id: 'dash-following', title: 'People you follow' }, body);
}

function invitationText(inv) {
  const where = inv.workspace_name ?? inv.workspace?.name ?? inv.name ?? '';
  const from = inv.invited_by ?? inv.inviter ?? inv.from ?? null;
  const who = from && typeof from === 'object' ? nameOf(from) : typeof from === 'string' ? from : '';
  if (where && who) return `${who} invited you to ${where}`;
  if (where) return `Invitation to ${where}`;
  return who ? `Invitation from ${who}` : 'Invitation';
}

/**
 * Pending invitations; links go wherever the invitation says (workspace or its own URL).
 * Nothing is shown without any: workspace owners add members directly, so most instances
 * never have one, and a card that is always empty would only take room.
 */
export function invitationsCard(invitations) {
  if (!invitations.length) return null;
  const body = list(invitations, (inv) => {
    const href = typeof inv.url === 'string' && inv.url.startsWith('/') ? inv.url : inv.workspace_id ? `/w/${inv.workspace_id}` : null;
    return h(
      'li',
      { class: 'flex flex-wrap items-center justify-between gap-2 py-2.5', dataset: { invitation: inv.id ?? '' } },
      h('span', { class: 'min-w-0 text-sm' }, invitationText(inv), inv.created_at ? [' · ', h('span', { class: 'text-muted' }, timeAgo(inv.created_at))] : null),
      href ? smallLink(href, 'Open') : null,
    );
  });
  return card({ id: 'dash-invitations', title: 'Invitations' }, body);
}

export function sessionsCard(sessions) {
  const current = sessions.find((s) => s.current === true);
  const others = sessions.length - (current ? 1 : 0);
  return card(
    { id: 'dash-sessions', title: 'Signed-in devices', action: smallLink('/settings/account#sessions-heading', 'Manage') },
    h(
      'p',
      { class: 'text-sm', dataset: { sessionCount: String(sessions.length) } },
      current ? h('span', { class: 'font-medium' }, `This device: ${current.device || 'this browser'}. `) : null,
      h(
        'span',
        { class: 'text-muted' },
        others === 0 ? 'No other signed-in devices.' : others === 1 ? '1 other signed-in device.' : `${others} other signed-in devices.`,
      ),
    ),
  );
}
