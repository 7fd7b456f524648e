// Pages for signed-in users only. While the session is being restored the page waits;
// signed out, it sends the visitor to /signin?next=<this page> (and to the home page
// when the user signed out here on purpose). Opened while offline (from the offline copy of
// the app), the session cannot be restored yet: the page says so and opens once online.

import { getSession, onSessionChange, refreshSession } from '../auth/session.js';
import { signinHref } from '../auth/safe-next.js';
import { notice } from '../ui/notice.js';
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
        } else if (state.status === 'signed-out' && !navigator.onLine && reason !== 'sign-out') {
          // Offline, the session cannot be checked (it may just have expired meanwhile): keep
          // what is shown (the editor goes on with its local copy), then check once online.
          if (!shown) {
            const waiting = notice('warning', 'You are offline. This page opens as soon as the connection is back; edits you made offline are kept in this browser.');
            waiting.setAttribute('role', 'status');
            waiting.dataset.offlineWaiting = '';
            outlet.replaceChildren(page(waiting));
          }
          window.addEventListener(
            'online',
            () => refreshSession().then((ok) => signal.aborted || (shown && ok) || update(getSession(), 'online')),
            { once: true, signal },
          );
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
