// Small pieces the dashboard sections share: a titled card, a person's avatar with a
// presence dot, times, and the "editing app.py in api-server" line.

import { h } from '../dom.js';
import { absoluteTime, relativeTime, toDate } from '../format/time.js';
import { presenceDot } from '../messages/presence-dot.js';
import { avatar } from '../ui/avatar.js';

/** One titled card of the dashboard; `action` is an optional link at the right of the title. */
export function card({ id, title, action }, ...children) {
  return h(
    'section',
    {
      class: 'min-w-0 rounded-xl border border-line bg-surface p-4 shadow-sm sm:p-5',
      'aria-labelledby': `${id}-heading`,
      dataset: { dashboardCard: id },
    },
    h(
      'div',
      { class: 'flex flex-wrap items-baseline justify-between gap-2' },
      h('h2', { id: `${id}-heading`, class: 'text-base font-semibold' }, title),
      action ?? null,
    ),
    h('div', { class: 'mt-3' }, ...children),
  );
}

export function smallLink(href, text, props = {}) {
  return h(
    'a',
    { href, ...props, class: 'rounded-sm text-sm font-medium text-accent underline-offset-2 hover:underline' },
    text,
  );
}

/** An empty state: one muted sentence, optionally with a link. */
export function empty(text, link) {
  return h('p', { class: 'text-sm text-muted', dataset: { empty: '' } }, text, link ? [' ', link] : null);
}

/** <time> with a relative text and the absolute time as tooltip; null for a missing time. */
export function timeAgo(value) {
  const date = toDate(value);
  if (!date) return null;
  return h('time', { datetime: date.toISOString(), title: absoluteTime(date) }, relativeTime(date));
}

/** Avatar with the presence dot on it. */
export function avatarWithPresence(person, presence, size = 'small') {
  return h('span', { class: 'relative inline-flex shrink-0' }, avatar(person, size), presenceDot(presence));
}

export function baseName(path) {
  const parts = String(path ?? '').split('/').filter(Boolean);
  return parts[parts.length - 1] ?? '';
}

/** "editing app.py in api-server", linked to that file. */
export function activityLine(activity) {
  if (!activity || typeof activity.path !== 'string') return null;
  const href = activity.file_id ? `/w/${activity.workspace_id}/f/${activity.file_id}` : `/w/${activity.workspace_id}`;
  return h(
    'span',
    { class: 'block truncate text-sm text-muted', dataset: { activity: '' } },
    'editing ',
    h('a', { href, class: 'font-medium text-fg underline-offset-2 hover:underline', title: activity.path }, baseName(activity.path)),
    ' in ',
    h('span', { class: 'font-medium text-fg' }, activity.workspace_name ?? 'a workspace'),
  );
}

/** The name a person is shown by. */
export function nameOf(person) {
  const name = typeof person?.display_name === 'string' ? person.display_name.trim() : '';
  return name || person?.username || 'Someone';
}
