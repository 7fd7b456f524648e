// "/": the landing page for visitors, the dashboard once signed in. Which one follows the
// session (signing in or out while on "/" switches). The dashboard's code is loaded on demand.

import { getSession, onSessionChange } from '../auth/session.js';
import { focusHeadingIfIdle } from '../shell/focus-heading.js';
import { setPageTitle } from '../shell/page-title.js';
import { loadingLine } from '../ui/spinner.js';
import { page } from '../views/page-layout.js';

/** @param {{render: Function}} landing  the signed-out home page  @param {{title: string, render: Function}} dashboard */
export function homeRoute(landing, dashboard) {
  return {
    title: '',
    render(outlet, context) {
      const { signal } = context;
      let shown = '';
      let child = null;
      const update = (state, reason) => {
        if (signal.aborted) return;
        const want = state.status === 'signed-in' ? 'dashboard' : state.status === 'signed-out' ? 'landing' : 'loading';
        if (want === shown) return;
        shown = want;
        child?.abort();
        child = new AbortController();
        signal.addEventListener('abort', () => child.abort(), { once: true, signal: child.signal });
        outlet.replaceChildren();
        if (want === 'loading') {
          outlet.append(page(loadingLine()));
          return;
        }
        const view = want === 'dashboard' ? dashboard : landing;
        setPageTitle(want === 'dashboard' ? dashboard.title : '');
        view.render(outlet, { ...context, signal: child.signal });
        if (reason !== 'initial') focusHeadingIfIdle(outlet);
      };
      onSessionChange(update, signal);
      update(getSession(), 'initial');
    },
  };
}
