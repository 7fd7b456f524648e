import { h } from '../../dom.js';

/** One titled section of the account settings page. */
export function settingsCard({ id, title, description, dataset }, ...children) {
  return h(
    'section',
    {
      class: 'rounded-xl border border-line bg-surface p-5 shadow-sm sm:p-6',
      'aria-labelledby': `${id}-heading`,
      dataset,
    },
    h('h2', { id: `${id}-heading`, class: 'text-lg font-semibold', tabindex: '-1' }, title),
    description ? h('p', { class: 'mt-1 text-sm text-muted' }, description) : null,
    h('div', { class: 'mt-5' }, ...children),
  );
}
