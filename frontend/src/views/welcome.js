// A short welcome on the home page for a signed-in user.

import { h, replaceChildren } from '../dom.js';
import { getSession, onSessionChange } from '../auth/session.js';
import { avatar, displayNameOf } from '../ui/avatar.js';
import { textLink } from './page-layout.js';

export function createWelcome({ signal }) {
  const slot = h('div', { dataset: { welcome: '' }, class: 'empty:hidden' });
  const render = (state) => {
    if (state.status !== 'signed-in') {
      slot.replaceChildren();
      return;
    }
    const user = state.user ?? {};
    replaceChildren(
      slot,
      h(
        'div',
        { class: 'mb-8 flex flex-wrap items-center gap-x-4 gap-y-2 rounded-xl border border-line bg-surface px-5 py-4 shadow-sm' },
        avatar(user),
        h(
          'p',
          { class: 'min-w-0 flex-1' },
          h('span', { class: 'font-semibold' }, `Welcome back, ${displayNameOf(user)}.`),
          ' ',
          h('span', { class: 'text-muted' }, 'Open the scratch editor, or keep your profile up to date.'),
        ),
        textLink('/settings/account', 'Account settings'),
      ),
    );
  };
  render(getSession());
  onSessionChange(render, signal);
  return slot;
}
