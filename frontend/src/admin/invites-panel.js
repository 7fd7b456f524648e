// Admin → Invites: create an invite link (shown once, with Copy), list invites with their
// use counts and status, revoke the active ones.

import { h, replaceChildren } from '../dom.js';
import { ApiError, messageOf } from '../api/api-error.js';
import { empty, timeAgo } from '../dashboard/parts.js';
import { bindForm } from '../ui/bind-form.js';
import { errorRegion, secondaryButton, setPending, submitButton } from '../ui/form-controls.js';
import { loadingLine } from '../ui/spinner.js';
import { copyField } from './copy-button.js';
import { createInvite, listInvites, revokeInvite } from './admin-api.js';

const STATUS_CLASS = {
  active: 'bg-ok-bg text-ok',
  used: 'bg-subtle text-fg',
  expired: 'bg-subtle text-muted',
  revoked: 'bg-bad-bg text-bad',
};

const SELECT = 'mt-1 block h-10 rounded-md border border-line bg-canvas px-3 text-fg';

function inviteRow(invite, signal, reload) {
  const error = h('p', { role: 'alert', class: 'text-sm text-bad empty:hidden' });
  let revoke = null;
  if (invite.status === 'active') {
    revoke = secondaryButton('Revoke', { dataset: { revokeInvite: '' }, 'aria-label': `Revoke invite created ${invite.created_at ?? ''}` });
    revoke.addEventListener(
      'click',
      async () => {
        setPending(revoke, true);
        try {
          await revokeInvite(invite.id);
          if (!signal.aborted) reload();
        } catch (e) {
          if (!signal.aborted) error.textContent = messageOf(e);
          setPending(revoke, false);
        }
      },
      { signal },
    );
  }
  const by = invite.created_by && typeof invite.created_by === 'object' ? invite.created_by.username : invite.created_by;
  return h(
    'li',
    { class: 'flex flex-wrap items-center justify-between gap-3 py-3', dataset: { invite: invite.id, inviteStatus: invite.status } },
    h(
      'div',
      { class: 'min-w-0' },
      h(
        'p',
        { class: 'flex flex-wrap items-center gap-2 text-sm' },
        h('span', { class: `rounded-full px-2 text-xs leading-5 font-semibold ${STATUS_CLASS[invite.status] ?? 'bg-subtle'}` }, invite.status ?? 'unknown'),
        h('span', null, `${Number(invite.uses) || 0} of ${Number(invite.max_uses) || 1} used`),
      ),
      h(
        'p',
        { class: 'text-sm text-muted' },
        'Created ',
        timeAgo(invite.created_at),
        by && typeof by === 'string' ? ` by ${by.length === 32 ? 'an admin' : `@${by}`}` : '',
        invite.expires_at ? [' · expires ', timeAgo(invite.expires_at)] : null,
      ),
      error,
    ),
    revoke,
  );
}

export function invitesPanel({ signal }) {
  const listBody = h('div', { 'aria-live': 'polite' }, loadingLine('Loading invites…'));
  const created = h('div', { class: 'empty:hidden' });

  async function reload() {
    try {
      const invites = await listInvites(signal);
      if (signal.aborted) return;
      replaceChildren(
        listBody,
        invites.length
          ? h('ul', { class: 'divide-y divide-line' }, invites.map((i) => inviteRow(i, signal, reload)))
          : empty('No invites yet.'),
      );
    } catch (error) {
      if (!signal.aborted) replaceChildren(listBody, h('p', { role: 'alert', class: 'text-sm text-bad' }, messageOf(error)));
    }
  }

  const expires = h(
    'select',
    { id: 'invite-expires', name: 'expires_in_hours', class: SELECT },
    h('option', { value: '24' }, '1 day'),
    h('option', { value: '168' }, '7 days'),
    h('option', { value: '720' }, '30 days'),
  );
  expires.value = '168';
  const uses = h('input', { id: 'invite-uses', name: 'max_uses', type: 'number', min: '1', max: '1000', value: '1', class: `${SELECT} w-28` });
  const errors = errorRegion('invite-error');
  const button = submitButton('Create invite link', { id: 'invite-create' });
  const form = h(
    'form',
    { class: 'flex flex-wrap items-end gap-4', 'aria-label': 'New invite', novalidate: true },
    h('div', null, h('label', { for: 'invite-expires', class: 'block text-sm font-medium' }, 'Expires after'), expires),
    h('div', null, h('label', { for: 'invite-uses', class: 'block text-sm font-medium' }, 'Sign-ups allowed'), uses),
    button,
    h('div', { class: 'w-full' }, errors),
  );
  bindForm(form, {
    signal,
    button,
    errors,
    async onSubmit() {
      const maxUses = Number(uses.value);
      if (!Number.isInteger(maxUses) || maxUses < 1 || maxUses > 1000) {
        uses.setAttribute('aria-invalid', 'true');
        throw new ApiError(422, 'invalid_max_uses', 'Sign-ups allowed must be a whole number from 1 to 1000.');
      }
      const invite = await createInvite({ expires_in_hours: Number(expires.value), max_uses: maxUses });
      if (signal.aborted) return;
      replaceChildren(
        created,
        h(
          'div',
          { class: 'mt-4 rounded-md border border-ok/40 bg-ok-bg/40 p-3' },
          copyField(String(invite.url ?? ''), 'New invite link'),
          h('p', { class: 'mt-2 text-sm text-muted' }, 'Copy it now: the link is not shown again.'),
        ),
      );
      created.querySelector('[data-copy-button]')?.focus();
      reload();
    },
  });
  reload();

  return h(
    'div',
    { class: 'space-y-6', dataset: { adminPanel: 'invites' } },
    h('div', null, h('h3', { class: 'mb-3 font-semibold' }, 'New invite'), form, created),
    h('div', null, h('h3', { class: 'mb-1 font-semibold' }, 'Invites'), listBody),
  );
}
