// Presence across the open files, and "follow": keep showing the file and the lines another
// person is looking at until you type or press Escape.
//
// Each open file's awareness carries, next to y-monaco's cursor, a `view` field this client
// publishes: {file: the file id it shows, top, bottom: its first and last visible line}. The
// server stamps `user`; `view` is only a hint from the other client and is validated here.

import { h, replaceChildren } from '../dom.js';
import { avatar } from '../ui/avatar.js';

const ID = /^[0-9a-f]{32}$/;
const MAX_SHOWN = 6;

/** A peer's published view, or null if it is missing or malformed. */
export function viewOf(state) {
  const view = state?.view;
  if (!view || typeof view !== 'object' || typeof view.file !== 'string' || !ID.test(view.file)) return null;
  const line = (n) => (Number.isSafeInteger(n) && n > 0 && n < 10_000_000 ? n : 1);
  return { file: view.file, top: line(view.top), bottom: Math.max(line(view.top), line(view.bottom)) };
}

/**
 * One entry per person (not per connection) seen in any open file: where they are looking and
 * in which of our sessions we saw it. A state that says "I am showing this very file" wins.
 *
 * @param {Map<string, {peers: Array<{user: object, state: object}>}>} open
 * @param {string|null} me  our own user id (our other tabs are not shown)
 */
export function peopleIn(open, me) {
  const byUser = new Map();
  for (const [fileId, item] of open) {
    for (const peer of item.peers ?? []) {
      const key = peer.user.id ?? `client:${peer.clientId}`;
      if (key === me) continue;
      const view = viewOf(peer.state);
      const here = view?.file === fileId;
      const known = byUser.get(key);
      if (!known || (here && !known.here)) byUser.set(key, { key, user: peer.user, view, seenIn: fileId, here });
    }
  }
  return [...byUser.values()].sort((a, b) => a.user.name.localeCompare(b.user.name));
}

/**
 * Render the avatars as buttons that start following.
 * @param {HTMLElement} box
 * @param {Array} people  from peopleIn
 * @param {{followingKey: string|null, pathOf: (id: string) => string|null, onFollow: Function, signal: AbortSignal}} options
 */
export function renderPeople(box, people, { followingKey, pathOf, onFollow, signal }) {
  replaceChildren(
    box,
    people.slice(0, MAX_SHOWN).map((person) => {
      const { user } = person;
      const path = person.view ? pathOf(person.view.file) : null;
      const where = path ? ` is in ${path}` : '';
      const following = person.key === followingKey;
      const badge = avatar({ display_name: user.name, avatar_color: user.color, username: user.name });
      badge.classList.add('ring-2', following ? 'ring-accent' : 'ring-surface');
      return h(
        'button',
        {
          type: 'button',
          class: 'rounded-full focus-visible:outline-2 focus-visible:outline-offset-2',
          title: following ? `Following ${user.name}${path ? ` in ${path}` : ''}` : `${user.name}${where}. Click to follow.`,
          'aria-label': following ? `Stop following ${user.name}` : `Follow ${user.name}${where}`,
          'aria-pressed': String(following),
          dataset: { peer: user.name, peerKey: person.key },
          onClick: () => onFollow(following ? null : person),
          signal,
        },
        badge,
      );
    }),
    people.length > MAX_SHOWN && h('span', { class: 'pl-3 text-xs text-muted' }, `+${people.length - MAX_SHOWN}`),
  );
}
