// /settings/account (signed in only; loaded on demand): profile, email verification,
// password and sessions.

import { h, replaceChildren } from '../../dom.js';
import { messageOf } from '../../api/api-error.js';
import { getMe } from '../../auth/auth-api.js';
import { getSession, updateUser } from '../../auth/session.js';
import { secondaryButton } from '../../ui/form-controls.js';
import { notice } from '../../ui/notice.js';
import { loadingLine } from '../../ui/spinner.js';
import { pageHeading } from '../page-layout.js';
import { emailSection } from './email-section.js';
import { passwordSection } from './password-section.js';
import { profileSection } from './profile-section.js';
import { sessionsSection } from './sessions-section.js';
import { avatarSection } from '../../profile/avatar-section.js';
import { privacySection } from '../../profile/privacy-section.js';

export const accountView = {
  title: 'Account settings',
  render(outlet, { signal }) {
    const user = getSession().user ?? {};
    const subtitle = h('p', { class: 'mt-2 text-muted' }, user.username ? `Signed in as @${user.username}` : '');
    const content = h('div', { class: 'mt-8' }, loadingLine('Loading your account…'));
    outlet.append(
      h(
        'div',
        { class: 'mx-auto w-full max-w-3xl px-4 py-10', dataset: { view: 'account-settings' } },
        pageHeading('Account settings'),
        subtitle,
        content,
      ),
    );

    function showSections() {
      const sessions = sessionsSection({ signal });
      replaceChildren(
        content,
        h(
          'div',
          { class: 'space-y-6' },
          profileSection({ signal }),
          avatarSection({ signal }),
          privacySection({ signal }),
          emailSection({ signal }),
          passwordSection({ signal, onChanged: sessions.reload }),
          sessions.card,
        ),
      );
    }

    function load() {
      replaceChildren(content, loadingLine('Loading your account…'));
      getMe(signal).then(
        (profile) => {
          if (signal.aborted) return;
          if (profile && typeof profile === 'object') updateUser(profile);
          const current = getSession().user ?? {};
          subtitle.textContent = current.username ? `Signed in as @${current.username}` : '';
          showSections();
        },
        (error) => {
          if (signal.aborted || getSession().status !== 'signed-in') return; // leaving for /signin
          replaceChildren(
            content,
            notice('error', messageOf(error)),
            h('div', { class: 'mt-4' }, secondaryButton('Try again', { onClick: load, signal })),
          );
        },
      );
    }
    load();
  },
};
