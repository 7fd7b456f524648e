// Admin → Users: search, change role, disable/enable, mark verified, and make a password
// reset link to hand over (shown once, with a Copy button).

import { h, replaceChildren } from '../dom.js';
import { messageOf } from '../api/api-error.js';
import { getSession } from '../auth/session.js';
import { empty, nameOf, timeAgo } from '../dashboard/parts.js';
import { confirmAction } from '../messages/confirm-dialog.js';
import { avatar } from '../ui/avatar.js';
import { secondaryButton, setPending } from '../ui/form-controls.js';
import { loadingLine } from '../ui/spinner.js';
import { copyField } from './copy-button.js';
import { listUsers, resetLink, updateUser } from './admin-api.js';

const BADGE = 'rounded-full px-2 text-xs leading-5 font-semibold';

function badges(user) {
  return [
    user.role === 'admin' ? h('span', { class: `${BADGE} bg-subtle text-fg` }, 'Admin') : null,
    user.disabled ? h('span', { class: `${BADGE} bg-bad-bg text-bad`, dataset: { disabledBadge: '' } }, 'Disabled') : null,
    user.email_verified ? null : h('span', { class: `${BADGE} bg-wait-bg text-wait` }, 'Unverified'),
  ];
}

function userRow(user, signal, onChanged) {
  const me = getSession().user ?? {};
  const self = me.id === user.id;
  const rowError = h('p', { role: 'alert', class: 'text-sm text-bad empty:hidden' });
  const extra = h('div', { class: 'empty:hidden' });

  const roleId = `role-${user.id}`;
  const role = h(
    'select',
    { id: roleId, class: 'rounded-md border border-line bg-canvas px-2 py-1 text-sm text-fg', dataset: { roleSelect: '' } },
    h('option', { value: 'member' }, 'Member'),
    h('option', { value: 'admin' }, 'Admin'),
  );
  role.value = user.role === 'admin' ? 'admin' : 'member';

  async function change(fields, control) {
    rowError.textContent = '';
    if (control) setPending(control, true);
    try {
      const updated = await updateUser(user.id, fields);
      if (!signal.aborted) onChanged({ ...user, ...updated });
    } catch (error) {
      if (signal.aborted) return;
      rowError.textContent = messageOf(error);
      role.value = user.role === 'admin' ? 'admin' : 'member';
      if (control?.isConnected) setPending(control, false);
    }
  }

  role.addEventListener('change', () => change({ role: role.value }, null), { signal });

  const toggle = secondaryButton(user.disabled ? 'Enable' : 'Disable', { dataset: { disableToggle: '' } });
  toggle.disabled = self;
  if (self) toggle.title = 'You cannot disable your own account.';
  toggle.addEventListener(
    'click',
    async () => {
      if (!user.disabled) {
        const sure = await confirmAction({
          title: `Disable @${user.username}?`,
          text: 'They are signed out everywhere and cannot sign in until an admin enables the account again.',
          confirmLabel: 'Disable',
        });
        if (!sure) return;
      }
      change({ disabled: !user.disabled }, toggle);
    },
    { signal },
  );

  const verify = user.email_verified ? null : secondaryButton('Mark verified', { dataset: { verifyButton: '' } });
  verify?.addEventListener('click', () => change({ verified: true }, verify), { signal });

  const reset = secondaryButton('Reset link', { dataset: { resetLink: '' } });
  reset.addEventListener(
    'click',
    async () => {
      rowError.textContent = '';
      setPending(reset, true);
      try {
        const data = await resetLink(user.id);
        if (signal.aborted) return;
        replaceChildren(
          extra,
          h(
            'div',
            { class: 'mt-3 rounded-md border border-line bg-subtle p-3' },
            copyField(String(data.url ?? ''), `Password reset link for @${user.username}`),
            h('p', { class: 'mt-2 text-sm text-muted' }, 'Send it to them privately. It works once and expires; it is not shown again.'),
          ),
        );
        extra.querySelector('[data-copy-button]')?.focus();
      } catch (error) {
        if (!signal.aborted) rowError.textContent = messageOf(error);
      } finally {
        setPending(reset, false);
      }
    },
    { signal },
  );

  return h(
    'li',
    { class: 'py-3', dataset: { adminUser: user.username, userId: user.id } },
    h(
      'div',
      { class: 'flex flex-wrap items-center gap-x-4 gap-y-2' },
      avatar(user),
      h(
        'div',
        { class: 'min-w-0 flex-1' },
        h(
          'p',
          { class: 'flex flex-wrap items-center gap-2' },
          h('a', { href: `/u/${encodeURIComponent(user.username)}`, class: 'font-medium text-fg underline-offset-2 hover:underline' }, nameOf(user)),
          h('span', { class: 'text-sm text-muted' }, `@${user.username}`),
          badges(user),
        ),
        h('p', { class: 'truncate text-sm text-muted' }, user.email ?? '', user.created_at ? [' · joined ', timeAgo(user.created_at)] : null),
      ),
      h(
        'div',
        { class: 'flex flex-wrap items-center gap-2' },
        h('label', { for: roleId, class: 'sr-only' }, `Role of @${user.username}`),
        role,
        verify,
        toggle,
        reset,
      ),
    ),
    rowError,
    extra,
  );
}

export function usersPanel({ signal }) {
  const search = h('input', {
    id: 'admin-user-search',
    type: 'search',
    autocomplete: 'off',
    placeholder: 'Name, username or email',
    class: 'mt-1 block w-full max-w-md rounded-md border border-line bg-canvas px-3 py-2 text-fg',
  });
  const listEl = h('ul', { class: 'divide-y divide-line' });
  const body = h('div', { class: 'mt-4', 'aria-live': 'polite' }, loadingLine('Loading users…'));
  const footer = h('div', { class: 'mt-3 empty:hidden' });
  let next = null;
  let generation = 0;

  function replaceRow(updated) {
    const old = listEl.querySelector(`[data-user-id="${CSS.escape(updated.id)}"]`);
    old?.replaceWith(userRow(updated, signal, replaceRow));
  }

  async function load(first, button) {
    const mine = first ? ++generation : generation;
    if (button) setPending(button, true);
    try {
      const page = await listUsers(search.value.trim(), first ? null : next, signal);
      if (signal.aborted || mine !== generation) return;
      next = page.next;
      if (first) {
        listEl.replaceChildren();
        if (!page.users.length) {
          replaceChildren(body, empty(search.value.trim() ? 'No user matches that search.' : 'No users yet.'));
          footer.replaceChildren();
          return;
        }
        replaceChildren(body, listEl);
      }
      listEl.append(...page.users.map((u) => userRow(u, signal, replaceRow)));
      replaceChildren(footer, next ? more() : null);
    } catch (error) {
      if (signal.aborted || mine !== generation) return;
      replaceChildren(first ? body : footer, h('p', { role: 'alert', class: 'text-sm text-bad' }, messageOf(error)));
    } finally {
      if (button?.isConnected) setPending(button, false);
    }
  }
  function more() {
    const button = secondaryButton('Show more');
    button.addEventListener('click', () => load(false, button), { signal });
    return button;
  }

  let timer = 0;
  search.addEventListener(
    'input',
    () => {
      clearTimeout(timer);
      timer = setTimeout(() => load(true), 250);
    },
    { signal },
  );
  load(true);

  return h(
    'div',
    { dataset: { adminPanel: 'users' } },
    h('label', { for: 'admin-user-search', class: 'block text-sm font-medium' }, 'Search users'),
    search,
    body,
    footer,
  );
}
