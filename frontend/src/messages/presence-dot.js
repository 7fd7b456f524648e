// The small dot on an avatar: green online, amber away, nothing when offline or hidden.

import { h } from '../dom.js';

const LOOK = {
  online: { className: 'bg-green-500', label: 'online' },
  away: { className: 'bg-amber-400', label: 'away' },
};

/** Place inside a `relative` wrapper around the avatar. */
export function presenceDot(presence) {
  const look = LOOK[presence?.status];
  if (!look) return null;
  return h(
    'span',
    {
      class: `absolute -right-0.5 -bottom-0.5 size-3 rounded-full ring-2 ring-surface ${look.className}`,
      dataset: { presence: presence.status },
    },
    h('span', { class: 'sr-only' }, look.label),
  );
}
