// /admin, /admin/users, /admin/invites, /admin/settings, /admin/health (instance admins only).
// The link is shown to admins only, and every admin API refuses others: a member who opens
// the URL sees a short explanation rather than an empty page.

import { h, replaceChildren } from '../dom.js';
import { getSession, onSessionChange } from '../auth/session.js';
import { setPageTitle } from '../shell/page-title.js';
import { notice } from '../ui/notice.js';
import { healthPanel } from './health-panel.js';
import { invitesPanel } from './invites-panel.js';
import { settingsPanel } from './settings-panel.js';
import { usersPanel } from './users-panel.js';

const SECTIONS = [
  ['users', 'Users', usersPanel],
  ['invites', 'Invites', invitesPanel],
  ['settings', 'Instance settings', settingsPanel],
  ['health', 'Health', healthPanel],
];

function sectionOf(path) {
  const name = path.split('/')[2] ?? '';
  return SECTIONS.find(([key]) => key === name) ?? SECTIONS[0];
}

export const adminView = {
  title: 'Administration',
  render(outlet, { signal, path }) {
    const [key, title, panel] = sectionOf(path);
    setPageTitle(`${title} · Administration`);
    const root = h('div', { class: 'mx-auto w-full max-w-6xl px-4 py-8', dataset: { view: 'admin', adminSection: key } });
    outlet.append(root);

    const paint = (state) => {
      if (state.user?.role !== 'admin') {
        replaceChildren(
          root,
          h('h1', { class: 'text-2xl font-bold', tabindex: '-1' }, 'Administration'),
          h('div', { class: 'mt-4', dataset: { adminDenied: '' } }, notice('info', 'These pages are for the administrators of this instance. Ask an admin if you need an account change or an invite.')),
        );
        return;
      }
      replaceChildren(
        root,
        h('h1', { class: 'text-2xl font-bold tracking-tight', tabindex: '-1' }, 'Administration'),
        h(
          'nav',
          { 'aria-label': 'Administration', class: 'mt-4 border-b border-line' },
          h(
            'ul',
            { class: '-mb-px flex flex-wrap gap-1' },
            SECTIONS.map(([name, label]) =>
              h(
                'li',
                null,
                h(
                  'a',
                  {
                    href: `/admin/${name}`,
                    'aria-current': name === key ? 'page' : null,
                    class: 'block border-b-2 border-transparent px-3 py-2 text-sm font-medium text-muted hover:text-fg aria-[current=page]:border-accent aria-[current=page]:text-fg',
                  },
                  label,
                ),
              ),
            ),
          ),
        ),
        h(
          'section',
          { class: 'mt-6 rounded-xl border border-line bg-surface p-4 shadow-sm sm:p-6', 'aria-labelledby': 'admin-section-title' },
          h('h2', { id: 'admin-section-title', class: 'mb-4 text-lg font-semibold' }, title),
          panel({ signal }),
        ),
      );
    };
    let shownRole = getSession().user?.role;
    paint(getSession());
    onSessionChange((state) => {
      if (state.user?.role === shownRole) return;
      shownRole = state.user?.role;
      paint(state);
    }, signal);
  },
};
