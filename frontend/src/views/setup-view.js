// /setup?token=…: create the first administrator account on a fresh server. The link
// with the one-time token is printed by the server on its first start.

import { h, replaceChildren } from '../dom.js';
import { completeSetup, isSetupNeeded } from '../auth/auth-api.js';
import { messageOf } from '../api/api-error.js';
import { bindForm } from '../ui/bind-form.js';
import { errorRegion, passwordField, secondaryButton, submitButton, textField } from '../ui/form-controls.js';
import { notice } from '../ui/notice.js';
import { loadingLine } from '../ui/spinner.js';
import { authPage, stackedForm } from './auth-page.js';
import { buttonLink } from './page-layout.js';

function setupForm({ signal, navigate, token, done }) {
  const email = textField({
    id: 'setup-email', name: 'email', label: 'Email', type: 'email', autocomplete: 'email', spellcheck: 'false', required: true,
  });
  const username = textField({
    id: 'setup-username', name: 'username', label: 'Username', autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', required: true,
  });
  const displayName = textField({
    id: 'setup-display-name', name: 'display_name', label: 'Display name', autocomplete: 'name', hint: 'Optional: the name others see.',
  });
  const password = passwordField({
    id: 'setup-password', name: 'password', label: 'Password', autocomplete: 'new-password', required: true, minlength: 8,
    hint: 'At least 8 characters. This account can manage the whole server: make it a strong one.',
  });
  const errors = errorRegion('setup-error');
  const button = submitButton('Create administrator account', { wide: true, id: 'setup-submit' });
  const form = stackedForm(
    { id: 'setup-form', 'aria-label': 'Create the administrator account' },
    email.field, username.field, displayName.field, password.field, errors, button,
  );
  bindForm(form, {
    signal,
    button,
    errors,
    async onSubmit() {
      const signedIn = await completeSetup({
        token,
        email: email.input.value.trim(),
        username: username.input.value.trim(),
        displayName: displayName.input.value.trim() || username.input.value.trim(),
        password: password.input.value,
      });
      if (signal.aborted) return;
      if (signedIn) navigate('/settings/account', { replace: true });
      else done();
    },
  });
  return form;
}

export const setupView = {
  title: 'Set up collabcode',
  render(outlet, { signal, navigate }) {
    const token = (new URLSearchParams(window.location.search).get('token') ?? '').trim();
    const body = h('div', { class: 'space-y-5', 'aria-live': 'polite' });
    const view = authPage({
      view: 'setup',
      heading: 'Set up collabcode',
      intro: 'Create the first account. It is the administrator of this server.',
      body,
    });
    outlet.append(view);

    const show = (state, ...children) => {
      view.dataset.setup = state;
      replaceChildren(body, ...children);
    };
    const signInLink = h('p', null, buttonLink('/signin', 'Sign in'));
    const done = () =>
      show('created', notice('success', 'The administrator account is ready.'), signInLink);

    function check() {
      show('loading', loadingLine('Checking whether this server needs setting up…'));
      isSetupNeeded(signal).then(
        (needed) => {
          if (signal.aborted) return;
          if (!needed) show('done', h('p', null, 'This server is already set up.'), signInLink);
          else if (!token) {
            show(
              'no-token',
              h('p', null, 'Open the setup link that the server printed when it first started. It looks like ',
                h('code', { class: 'rounded bg-subtle px-1 font-mono text-[0.9em]' }, '/setup?token=…'), '.'),
            );
          } else show('form', setupForm({ signal, navigate, token, done }));
        },
        (error) => {
          if (signal.aborted) return;
          show(
            'error',
            notice('error', messageOf(error)),
            secondaryButton('Try again', { onClick: check, signal }),
          );
        },
      );
    }
    check();
  },
};
