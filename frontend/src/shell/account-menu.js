// The account area at the right of the header: "Sign in" when signed out; the user's
// avatar and display name with a small menu (account settings, sign out) when signed in.

import { h } from '../dom.js';
import { getSession, onSessionChange, signOut } from '../auth/session.js';
import { avatar, displayNameOf } from '../ui/avatar.js';
import { setPending } from '../ui/form-controls.js';
import { highlightNav } from './nav-highlight.js';

const MENU_ITEM =
  'flex w-full items-center gap-2 rounded-md px-3 py-2 text-left text-sm text-fg hover:bg-subtle aria-[current=page]:font-semibold';

function chevron() {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 20 20');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', 'size-4 text-muted');
  const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  path.setAttribute('d', 'M5.5 7.5 10 12l4.5-4.5');
  path.setAttribute('fill', 'none');
  path.setAttribute('stroke', 'currentColor');
  path.setAttribute('stroke-width', '1.75');
  path.setAttribute('stroke-linecap', 'round');
  path.setAttribute('stroke-linejoin', 'round');
  svg.append(path);
  return svg;
}

function signInLink() {
  return h(
    'a',
    {
      href: '/signin',
      dataset: { nav: '', signInLink: '' },
      class:
        'block rounded-md px-3 py-2 text-sm font-medium text-muted hover:bg-subtle hover:text-fg aria-[current=page]:bg-subtle aria-[current=page]:text-fg',
    },
    'Sign in',
  );
}

function userMenu(user, signal) {
  const name = displayNameOf(user);
  const button = h(
    'button',
    {
      type: 'button',
      id: 'account-menu-button',
      class: 'flex items-center gap-1 rounded-full py-1 pr-2 pl-1 text-sm font-medium hover:bg-subtle',
      'aria-expanded': 'false',
      'aria-controls': 'account-menu-panel',
      dataset: { userMenu: '' },
    },
    avatar(user),
    h('span', { class: 'sr-only', dataset: { userName: '' } }, name),
    h('span', { class: 'sr-only' }, ': account menu'),
    chevron(),
  );
  const signOutButton = h('button', { type: 'button', class: MENU_ITEM, dataset: { signOut: '' } }, h('span', null, 'Sign out'));
  const panel = h(
    'div',
    {
      id: 'account-menu-panel',
      hidden: true,
      class: 'absolute right-0 z-40 mt-2 w-64 max-w-[calc(100vw-2rem)] rounded-lg border border-line bg-surface p-1 shadow-lg',
    },
    h(
      'div',
      { class: 'border-b border-line px-3 pt-2 pb-3' },
      h('p', { class: 'truncate font-semibold' }, name),
      h('p', { class: 'truncate text-sm text-muted' }, user?.username ? `@${user.username}` : ''),
    ),
    h(
      'ul',
      { class: 'pt-1' },
      user?.username
        ? h('li', null, h('a', { href: `/u/${encodeURIComponent(user.username)}`, class: MENU_ITEM, dataset: { nav: '' } }, 'Your profile'))
        : null,
      h('li', null, h('a', { href: '/settings/account', class: MENU_ITEM, dataset: { nav: '' } }, 'Account settings')),
      h('li', null, signOutButton),
    ),
  );
  const root = h('div', { class: 'relative', dataset: { accountMenu: '' } }, button, panel);

  const items = () => [...panel.querySelectorAll('a, button')];
  const setOpen = (open, { focus } = {}) => {
    panel.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
    if (open && focus === 'first') items()[0]?.focus();
    if (!open && focus === 'button') button.focus();
  };

  button.addEventListener('click', () => setOpen(panel.hidden));
  button.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown') {
      event.preventDefault();
      setOpen(true, { focus: 'first' });
    }
  });
  root.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !panel.hidden) {
      event.preventDefault();
      setOpen(false, { focus: 'button' });
    } else if ((event.key === 'ArrowDown' || event.key === 'ArrowUp') && panel.contains(event.target)) {
      event.preventDefault();
      const list = items();
      const step = event.key === 'ArrowDown' ? 1 : -1;
      list[(list.indexOf(event.target) + step + list.length) % list.length]?.focus();
    }
  });
  root.addEventListener('focusout', (event) => {
    if (!panel.hidden && event.relatedTarget && !root.contains(event.relatedTarget)) setOpen(false);
  });
  panel.addEventListener('click', (event) => {
    if (event.target instanceof Element && event.target.closest('a')) setOpen(false);
  });
  document.addEventListener(
    'pointerdown',
    (event) => {
      if (!panel.hidden && !root.contains(event.target)) setOpen(false);
    },
    { signal },
  );

  signOutButton.addEventListener('click', async () => {
    setPending(signOutButton, true);
    await signOut();
    // Staying on this page: put focus on the "Sign in" link that replaced the menu.
    if (document.activeElement === document.body) document.querySelector('[data-sign-in-link]')?.focus();
  });
  return root;
}

/** Keep `container` (the header's [data-account-area]) in step with the session. */
export function startAccountMenu(container) {
  let shownKey = '';
  let controller = new AbortController();
  const render = (state) => {
    const user = state.user ?? {};
    const key = JSON.stringify([state.status, user.id, user.username, user.display_name, user.avatar_color, user.avatar_url]);
    if (key === shownKey) return;
    shownKey = key;
    const hadFocus = container.contains(document.activeElement);
    controller.abort();
    controller = new AbortController();
    if (state.status === 'signed-in') container.replaceChildren(userMenu(user, controller.signal));
    else if (state.status === 'signed-out') container.replaceChildren(signInLink());
    else container.replaceChildren(h('span', { class: 'block h-9 w-20', 'aria-hidden': 'true' }));
    highlightNav(window.location.pathname);
    if (hadFocus) container.querySelector('a, button')?.focus();
  };
  render(getSession());
  onSessionChange(render);
}
