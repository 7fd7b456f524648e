import { h } from '../dom.js';
import { lead, page, pageHeading, textLink } from './page-layout.js';

export const notFoundView = {
  title: 'Page not found',
  render(outlet, { path }) {
    outlet.append(
      page(
        h(
          'div',
          { class: 'max-w-2xl', dataset: { view: 'not-found' } },
          h('p', { class: 'font-mono text-sm font-semibold text-accent' }, '404'),
          pageHeading('Page not found'),
          lead('There is no page at ', h('code', { class: 'break-all rounded bg-subtle px-1 font-mono text-[0.9em] text-fg' }, path), '.'),
          h('p', { class: 'mt-6' }, textLink('/', 'Go to the home page')),
        ),
      ),
    );
  },
};
