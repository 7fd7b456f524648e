// Layout of the small account pages (sign in, sign up, password reset, ...): a heading
// and a narrow card, with optional links underneath.

import { h } from '../dom.js';
import { pageHeading } from './page-layout.js';

/**
 * @param {object} o
 * @param {string} o.view  value of data-view, for tests
 * @param {string} o.heading
 * @param {string|Node} [o.intro]
 * @param {Node|Node[]} o.body  what goes in the card
 * @param {Node|Node[]} [o.footer]  links under the card
 */
export function authPage({ view, heading, intro, body, footer }) {
  return h(
    'div',
    { class: 'mx-auto w-full max-w-md px-4 py-10 sm:py-14', dataset: { view } },
    pageHeading(heading),
    intro ? h('p', { class: 'mt-2 text-muted text-pretty' }, intro) : null,
    h('div', { class: 'mt-6 rounded-xl border border-line bg-surface p-6 shadow-sm' }, body),
    footer ? h('div', { class: 'mt-6 space-y-2 text-center text-sm text-muted' }, footer) : null,
  );
}

/** A form laid out as a column of fields. */
export function stackedForm(props, ...children) {
  return h('form', { ...props, novalidate: true, class: 'space-y-5' }, ...children);
}
