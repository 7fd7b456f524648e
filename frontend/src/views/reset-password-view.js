// /reset-password?token=…: choose a new password with the token from the email.
// The server signs out every session of the account; so does this tab.

import { h, replaceChildren } from '../dom.js';
import { resetPassword } from '../auth/auth-api.js';
import { forgetSession, getSession } from '../auth/session.js';
import { bindForm } from '../ui/bind-form.js';
import { errorRegion, passwordField, submitButton } from '../ui/form-controls.js';
import { notice } from '../ui/notice.js';
import { authPage, stackedForm } from './auth-page.js';
import { buttonLink, textLink } from './page-layout.js';

export const resetPasswordView = {
  title: 'Choose a new password',
  render(outlet, { signal }) {
    const token = (new URLSearchParams(window.location.search).get('token') ?? '').trim();
    const footer = h('p', null, textLink('/signin', 'Back to sign in'));
    if (!token) {
      outlet.append(
        authPage({
          view: 'reset-password',
          heading: 'Choose a new password',
          body: h(
            'div',
            { class: 'space-y-4' },
            h('p', null, 'This page needs the link from your password reset email.'),
            h('p', null, textLink('/forgot-password', 'Send me a new link')),
          ),
          footer,
        }),
      );
      return;
    }

    const password = passwordField({
      id: 'reset-password',
      name: 'password',
      label: 'New password',
      autocomplete: 'new-password',
      required: true,
      minlength: 8,
      hint: 'At least 8 characters. You will be signed out everywhere and sign in again with it.',
    });
    const errors = errorRegion('reset-error');
    const button = submitButton('Set new password', { wide: true, id: 'reset-submit' });
    const form = stackedForm({ id: 'reset-form', 'aria-label': 'Choose a new password' }, password.field, errors, button);
    const body = h('div', null, form);

    bindForm(form, {
      signal,
      button,
      errors,
      async onSubmit() {
        await resetPassword(token, password.input.value);
        if (signal.aborted) return;
        history.replaceState(history.state, '', window.location.pathname);
        if (getSession().status === 'signed-in') forgetSession('expired');
        replaceChildren(
          body,
          h(
            'div',
            { class: 'space-y-4', tabindex: '-1', dataset: { resetDone: '' } },
            notice('success', 'Your password was changed.'),
            h('p', null, 'Sign in with your new password.'),
            h('p', null, buttonLink('/signin', 'Sign in')),
          ),
        );
        body.querySelector('[data-reset-done]').focus();
      },
      onError: () => password.input.focus(),
    });

    outlet.append(
      authPage({
        view: 'reset-password',
        heading: 'Choose a new password',
        body,
        footer,
      }),
    );
  },
};
