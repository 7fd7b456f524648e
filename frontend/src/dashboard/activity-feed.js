// "Recent activity": events in my workspaces from GET /api/activity, newest first, with a
// "Show older" button that follows next_cursor.

import { h, replaceChildren } from '../dom.js';
import { messageOf } from '../api/api-error.js';
import { getActivity } from '../profile/social-api.js';
import { secondaryButton, setPending } from '../ui/form-controls.js';
import { loadingLine } from '../ui/spinner.js';
import { card, empty, nameOf, timeAgo } from './parts.js';

function str(value) {
  return typeof value === 'string' ? value : '';
}

/** "src/app.py", "src/app.py and 2 more": the entries of a file event. */
function entriesText(data, key = 'path') {
  const entries = Array.isArray(data.entries) ? data.entries : [];
  const count = Number(data.count) || entries.length;
  const first = entries[0] ? str(entries[0][key]) || str(entries[0].path) : '';
  if (!first) return count > 1 ? `${count} files` : 'a file';
  return count > 1 ? `${first} and ${count - 1} more` : first;
}

function whom(data) {
  const user = data.user && typeof data.user === 'object' ? data.user : null;
  return user ? nameOf(user) : 'a former member';
}

/** What happened, in words, from the event's type and data. */
export function describe(item) {
  const data = item.data && typeof item.data === 'object' ? item.data : {};
  switch (item.type) {
    case 'file.created':
      return `created ${entriesText(data)}`;
    case 'file.renamed': {
      const entry = Array.isArray(data.entries) ? data.entries[0] : null;
      if (entry && (Number(data.count) || 1) === 1) return `renamed ${str(entry.old_path) || 'a file'} to ${str(entry.path)}`;
      return `moved ${entriesText(data, 'old_path')}`;
    }
    case 'file.deleted':
      return `deleted ${entriesText(data)}`;
    case 'member.added':
      return `added ${whom(data)}${data.role ? ` as ${data.role}` : ''}`;
    case 'member.role_changed':
      return `made ${whom(data)} ${data.role ? `${/^[aeiou]/.test(data.role) ? 'an' : 'a'} ${data.role}` : 'a member with a new role'}`;
    case 'member.removed':
      return `removed ${whom(data)}`;
    case 'member.left':
      return 'left the workspace';
    case 'workspace.renamed':
      return `renamed the workspace to ${str(data.name)}`;
    default:
      return str(item.type).replace(/[._]/g, ' ');
  }
}

function row(item) {
  return h(
    'li',
    { class: 'py-2.5 text-sm', dataset: { activityItem: item.id ?? '' } },
    h('span', { class: 'font-medium' }, nameOf(item.actor)),
    ' ',
    describe(item),
    item.workspace_name
      ? [' in ', h('a', { href: `/w/${item.workspace_id}`, class: 'font-medium underline-offset-2 hover:underline' }, item.workspace_name)]
      : null,
    item.created_at ? h('span', { class: 'text-muted' }, ' · ', timeAgo(item.created_at)) : null,
  );
}

export function activityFeed({ signal }) {
  const listEl = h('ul', { class: 'divide-y divide-line' });
  const footer = h('div', { class: 'mt-2 empty:hidden' });
  const body = h('div', { 'aria-live': 'polite' }, loadingLine('Loading activity…'));
  let cursor = null;

  async function loadPage(first, button) {
    if (button) setPending(button, true);
    try {
      const page = await getActivity(first ? null : cursor, signal);
      if (signal.aborted) return;
      cursor = page.nextCursor;
      if (first) {
        listEl.replaceChildren();
        if (!page.items.length) {
          replaceChildren(body, empty('Nothing has happened in your workspaces yet.'));
          return;
        }
        replaceChildren(body, listEl, footer);
      }
      listEl.append(...page.items.map(row));
      replaceChildren(footer, cursor ? more() : null);
    } catch (error) {
      if (signal.aborted) return;
      if (first) replaceChildren(body, empty(`The activity could not be loaded: ${messageOf(error)}`));
      else replaceChildren(footer, h('p', { class: 'text-sm text-bad', role: 'alert' }, messageOf(error)), more());
    } finally {
      if (button?.isConnected) setPending(button, false);
    }
  }
  function more() {
    const button = secondaryButton('Show older', { dataset: { activityMore: '' } });
    button.addEventListener('click', () => loadPage(false, button), { signal });
    return button;
  }

  loadPage(true);
  return { card: card({ id: 'dash-activity', title: 'Recent activity' }, body), reload: () => loadPage(true) };
}
