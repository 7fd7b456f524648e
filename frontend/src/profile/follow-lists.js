// Followers / following of a profile as two tabs (WAI-ARIA tabs pattern), each a paged list
// of people with their presence, loaded when its tab is first shown.

import { h, replaceChildren } from '../dom.js';
import { messageOf } from '../api/api-error.js';
import { presenceText } from '../messages/chat-format.js';
import { avatarWithPresence, empty, nameOf } from '../dashboard/parts.js';
import { secondaryButton, setPending } from '../ui/form-controls.js';
import { loadingLine } from '../ui/spinner.js';
import { listFollows } from './social-api.js';

function personRow(person) {
  return h(
    'li',
    { class: 'flex items-center gap-3 py-2.5', dataset: { person: person.username } },
    avatarWithPresence(person, person.presence),
    h(
      'span',
      { class: 'min-w-0 flex-1' },
      h('a', { href: `/u/${encodeURIComponent(person.username)}`, class: 'block truncate font-medium text-fg underline-offset-2 hover:underline' }, nameOf(person)),
      h('span', { class: 'block truncate text-sm text-muted' }, `@${person.username}`, person.presence ? ` · ${presenceText(person.presence) || 'offline'}` : ''),
    ),
  );
}

function pagedList(username, which, signal) {
  const items = h('ul', { class: 'divide-y divide-line' });
  const footer = h('div', { class: 'mt-2 empty:hidden' });
  const body = h('div', null, loadingLine());
  let cursor = null;
  let started = false;

  async function loadPage(first, button) {
    if (button) setPending(button, true);
    try {
      const page = await listFollows(username, which, first ? null : cursor, signal);
      if (signal.aborted) return;
      cursor = page.nextCursor;
      if (first) {
        if (!page.users.length) {
          replaceChildren(body, empty(which === 'followers' ? 'No followers yet.' : 'Not following anyone yet.'));
          return;
        }
        replaceChildren(body, items, footer);
      }
      items.append(...page.users.map(personRow));
      replaceChildren(footer, cursor ? more() : null);
    } catch (error) {
      if (signal.aborted) return;
      if (first) replaceChildren(body, h('p', { class: 'text-sm text-bad', role: 'alert' }, messageOf(error)));
      else replaceChildren(footer, h('p', { class: 'text-sm text-bad', role: 'alert' }, messageOf(error)), more());
    } finally {
      if (button?.isConnected) setPending(button, false);
    }
  }
  function more() {
    const button = secondaryButton('Show more');
    button.addEventListener('click', () => loadPage(false, button), { signal });
    return button;
  }
  return {
    body,
    start() {
      if (started) return;
      started = true;
      loadPage(true);
    },
    reload() {
      started = true;
      loadPage(true);
    },
  };
}

/** Returns {element, show(which), setCounts({followers, following}), reload()}. */
export function followLists(username, signal) {
  const lists = { followers: pagedList(username, 'followers', signal), following: pagedList(username, 'following', signal) };
  const tabs = {};
  const panels = {};
  const tablist = h('div', { role: 'tablist', 'aria-label': 'Followers and following', class: 'flex gap-1 border-b border-line' });
  for (const which of ['followers', 'following']) {
    tabs[which] = h(
      'button',
      {
        type: 'button',
        role: 'tab',
        id: `tab-${which}`,
        'aria-controls': `panel-${which}`,
        'aria-selected': 'false',
        tabindex: '-1',
        class: '-mb-px border-b-2 border-transparent px-3 py-2 text-sm font-medium text-muted hover:text-fg aria-selected:border-accent aria-selected:text-fg',
        dataset: { followTab: which },
      },
      which === 'followers' ? 'Followers' : 'Following',
    );
    panels[which] = h('div', { role: 'tabpanel', id: `panel-${which}`, 'aria-labelledby': `tab-${which}`, hidden: true, class: 'pt-3' }, lists[which].body);
    tablist.append(tabs[which]);
  }

  function show(which, focus = false) {
    for (const name of ['followers', 'following']) {
      const on = name === which;
      tabs[name].setAttribute('aria-selected', String(on));
      tabs[name].tabIndex = on ? 0 : -1;
      panels[name].hidden = !on;
    }
    lists[which].start();
    if (focus) tabs[which].focus();
  }
  tablist.addEventListener(
    'click',
    (event) => {
      const tab = event.target instanceof Element ? event.target.closest('[role=tab]') : null;
      if (tab) show(tab.dataset.followTab);
    },
    { signal },
  );
  tablist.addEventListener(
    'keydown',
    (event) => {
      if (!['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(event.key)) return;
      event.preventDefault();
      const current = tabs.followers.getAttribute('aria-selected') === 'true' ? 'followers' : 'following';
      const next = event.key === 'Home' ? 'followers' : event.key === 'End' ? 'following' : current === 'followers' ? 'following' : 'followers';
      show(next, true);
    },
    { signal },
  );

  function setCounts({ followers, following }) {
    tabs.followers.textContent = `Followers (${Number(followers) || 0})`;
    tabs.following.textContent = `Following (${Number(following) || 0})`;
  }

  show('followers');
  return {
    element: h('div', null, tablist, panels.followers, panels.following),
    show,
    setCounts,
    reload() {
      lists.followers.reload();
    },
  };
}
