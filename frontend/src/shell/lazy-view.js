// A view whose code is loaded with import() when it is first opened, to keep the
// first-load JavaScript small.

import { h, replaceChildren } from '../dom.js';
import { notice } from '../ui/notice.js';
import { loadingLine } from '../ui/spinner.js';
import { page } from '../views/page-layout.js';
import { focusHeadingIfIdle } from './focus-heading.js';

/** @param {string} title  @param {() => Promise<{render: Function}>} load */
export function lazyView(title, load) {
  return {
    title,
    render(outlet, context) {
      const { signal } = context;
      const holder = page(loadingLine());
      outlet.append(holder);
      const attempt = () => {
        replaceChildren(holder, loadingLine());
        load().then(
          (view) => {
            if (signal.aborted) return;
            outlet.replaceChildren();
            view.render(outlet, context);
            focusHeadingIfIdle(outlet);
          },
          () => {
            if (signal.aborted) return;
            replaceChildren(
              holder,
              notice('error', 'This page could not be loaded. Check your connection and try again.'),
              h(
                'button',
                {
                  type: 'button',
                  class: 'mt-4 rounded-md border border-line bg-surface px-3 py-1.5 text-sm font-medium hover:bg-subtle',
                  onClick: attempt,
                  signal,
                },
                'Try again',
              ),
            );
          },
        );
      };
      attempt();
    },
  };
}
