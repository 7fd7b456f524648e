// Pages for signed-in users only. While the session is being restored the page waits;
// signed out, it sends the visitor to /signin?next=<this page> (and to the home page
// when the user signed out here on purpose).

import { getSession, onSessionChange } from '../auth/session.js';
import { signinHref } from '../auth/safe-next.js';
import { loadingLine } from '../ui/spinner.js';
import { page } from '../views/page-layout.js';
import { focusHeadingIfIdle } from './focus-heading.js';

export function requireAuth(view) {
  return {
    title: view.title,
    render(outlet, context) {
      const { signal, navigate } = context;
      let shown = false;
      const update = (state, reason) => {
        if (signal.aborted) return;
        if (state.status === 'signed-in') {
          if (shown) return;
          shown = true;
          outlet.replaceChildren();
          view.render(outlet, context);
          if (reason !== 'initial') focusHeadingIfIdle(outlet);
        } else if (state.status === 'signed-out') {
          const here = window.location.pathname + window.location.search;
          const target = reason === 'sign-out' ? '/' : signinHref(here);
          queueMicrotask(() => signal.aborted || navigate(target, { replace: true }));
        } else if (!shown) {
          outlet.replaceChildren(page(loadingLine()));
        }
      };
      onSessionChange(update, signal);
      update(getSession(), 'initial');
    },
  };
}
