// Email address and its verification state, with "resend the link" while unverified.

import { h, replaceChildren } from '../../dom.js';
import { messageOf } from '../../api/api-error.js';
import { resendVerification } from '../../auth/auth-api.js';
import { getSession, onSessionChange } from '../../auth/session.js';
import { errorRegion, secondaryButton, setPending, showMessage, statusRegion } from '../../ui/form-controls.js';
import { settingsCard } from './settings-card.js';

function badge(verified) {
  return h(
    'span',
    {
      class: `inline-flex items-center rounded-full px-2.5 py-0.5 text-xs font-semibold ${verified ? 'bg-ok-bg text-ok' : 'bg-wait-bg text-wait'}`,
      dataset: { emailVerified: verified ? '1' : '0' },
    },
    verified ? 'Verified' : 'Not verified',
  );
}

export function emailSection({ signal }) {
  const content = h('div', { class: 'space-y-4' });
  const errors = errorRegion('resend-error');
  const status = statusRegion('resend-status');
  const resend = secondaryButton('Resend verification email', { id: 'resend-verification', dataset: { resendVerification: '' } });

  resend.addEventListener(
    'click',
    async () => {
      showMessage(errors, 'error', '');
      showMessage(status, 'success', '');
      setPending(resend, true);
      try {
        await resendVerification();
        if (!signal.aborted) showMessage(status, 'success', 'We sent a new link. Check your inbox.');
      } catch (error) {
        if (!signal.aborted) showMessage(errors, 'error', messageOf(error));
      } finally {
        setPending(resend, false);
      }
    },
    { signal },
  );

  let shownVerified = null;
  const render = (user) => {
    const verified = user?.email_verified === true;
    if (verified === shownVerified && content.firstChild) return;
    shownVerified = verified;
    replaceChildren(
      content,
      h(
        'p',
        { class: 'flex flex-wrap items-center gap-x-3 gap-y-1' },
        h('span', { class: 'break-all font-medium' }, user?.email ?? ''),
        badge(verified),
      ),
      verified
        ? null
        : [
            h('p', { class: 'text-sm text-muted' }, 'Open the link we emailed you to verify this address. No email? Send a new link.'),
            h('div', null, resend),
            errors,
            status,
          ],
    );
  };
  render(getSession().user);
  onSessionChange((state) => state.status === 'signed-in' && render(state.user), signal);

  return settingsCard({ id: 'email', title: 'Email', description: 'Where we send verification and password reset links.' }, content);
}
