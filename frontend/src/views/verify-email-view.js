// /verify-email?token=…: confirms the address with the token from the email. The token is
// taken out of the address bar (and history) as soon as it is read.

import { h, replaceChildren } from '../dom.js';
import { verifyEmail } from '../auth/auth-api.js';
import { sessionKnown, updateUser } from '../auth/session.js';
import { notice } from '../ui/notice.js';
import { loadingLine } from '../ui/spinner.js';
import { authPage } from './auth-page.js';
import { buttonLink, textLink } from './page-layout.js';

function nextSteps(state) {
  return state.status === 'signed-in'
    ? h('p', { class: 'mt-5' }, buttonLink('/settings/account', 'Go to account settings'))
    : h('p', { class: 'mt-5' }, buttonLink('/signin', 'Sign in'));
}

export const verifyEmailView = {
  title: 'Verify email',
  render(outlet, { signal }) {
    const token = (new URLSearchParams(window.location.search).get('token') ?? '').trim();
    if (token) history.replaceState(history.state, '', window.location.pathname);

    const body = h('div', { 'aria-live': 'polite' }, loadingLine('Verifying your email address…'));
    const view = authPage({ view: 'verify-email', heading: 'Verify email', body });
    const show = (result, ...children) => {
      view.dataset.verifyState = result;
      replaceChildren(body, ...children);
    };
    view.dataset.verifyState = 'pending';
    outlet.append(view);

    if (!token) {
      show(
        'missing',
        h('p', null, 'This page needs the link from your verification email. Open that link again, or request a new one from your account settings.'),
        h('p', { class: 'mt-4 text-sm' }, textLink('/settings/account', 'Account settings')),
      );
      return;
    }
    verifyEmail(token, signal).then(
      async () => {
        const state = await sessionKnown();
        if (signal.aborted) return;
        updateUser({ email_verified: true });
        show('ok', notice('success', 'Your email address is verified. Thank you!'), nextSteps(state));
      },
      async (error) => {
        const state = await sessionKnown();
        if (signal.aborted) return;
        show(
          'failed',
          notice('error', error?.message || 'This verification link did not work.'),
          h(
            'p',
            { class: 'mt-4 text-sm text-muted' },
            state.status === 'signed-in'
              ? ['You can ask for a new link in ', textLink('/settings/account', 'account settings'), '.']
              : ['Sign in to ask for a new link: ', textLink('/signin?next=/settings/account', 'sign in'), '.'],
          ),
        );
      },
    );
  },
};
