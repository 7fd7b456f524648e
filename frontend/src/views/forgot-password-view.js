// /forgot-password: ask for a reset link. The answer is the same whether or not an
// account uses the address.

import { h, replaceChildren } from '../dom.js';
import { requestPasswordReset } from '../auth/auth-api.js';
import { bindForm } from '../ui/bind-form.js';
import { errorRegion, submitButton, textField } from '../ui/form-controls.js';
import { notice } from '../ui/notice.js';
import { authPage, stackedForm } from './auth-page.js';
import { textLink } from './page-layout.js';

export const forgotPasswordView = {
  title: 'Forgot password',
  render(outlet, { signal }) {
    const email = textField({
      id: 'forgot-email',
      name: 'email',
      label: 'Email',
      type: 'email',
      autocomplete: 'email',
      spellcheck: 'false',
      required: true,
    });
    const errors = errorRegion('forgot-error');
    const button = submitButton('Send reset link', { wide: true, id: 'forgot-submit' });
    const form = stackedForm({ id: 'forgot-form', 'aria-label': 'Request a password reset link' }, email.field, errors, button);
    const body = h('div', { 'aria-live': 'polite' }, form);

    bindForm(form, {
      signal,
      button,
      errors,
      async onSubmit() {
        const address = email.input.value.trim();
        await requestPasswordReset(address);
        if (signal.aborted) return;
        replaceChildren(
          body,
          h(
            'div',
            { class: 'space-y-3', dataset: { resetRequested: '' } },
            notice('success', 'Check your email.'),
            h(
              'p',
              null,
              'If an account uses ',
              h('strong', { class: 'break-all font-semibold' }, address),
              ', we sent it a link to choose a new password. The link works once and expires soon.',
            ),
          ),
        );
        body.querySelector('[data-reset-requested]').setAttribute('tabindex', '-1');
        body.querySelector('[data-reset-requested]').focus();
      },
    });

    outlet.append(
      authPage({
        view: 'forgot-password',
        heading: 'Forgot your password?',
        intro: 'Enter the email address of your account and we will send you a link to choose a new password.',
        body,
        footer: h('p', null, 'Remembered it? ', textLink('/signin', 'Sign in')),
      }),
    );
  },
};
