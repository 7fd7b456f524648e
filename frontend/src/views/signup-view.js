// /signup?invite=TOKEN: create an account. Shows whether the invitation is valid, or that
// registration is invite-only or closed (GET /api/auth/config). The server answers the
// same "check your email" whether or not the address was free, so the page never tells.

import { h, replaceChildren } from '../dom.js';
import { getRegistrationMode, isInviteValid, signUp } from '../auth/auth-api.js';
import { rememberSignupEmail } from '../auth/signup-email.js';
import { bindForm } from '../ui/bind-form.js';
import { errorRegion, passwordField, submitButton, textField } from '../ui/form-controls.js';
import { notice } from '../ui/notice.js';
import { loadingLine } from '../ui/spinner.js';
import { authPage, stackedForm } from './auth-page.js';
import { textLink } from './page-layout.js';

function signupForm({ signal, navigate, invite }) {
  const email = textField({
    id: 'signup-email',
    name: 'email',
    label: 'Email',
    type: 'email',
    autocomplete: 'email',
    spellcheck: 'false',
    required: true,
    hint: 'We send a link to this address to verify it.',
  });
  const username = textField({
    id: 'signup-username',
    name: 'username',
    label: 'Username',
    autocomplete: 'username',
    autocapitalize: 'none',
    spellcheck: 'false',
    required: true,
    hint: 'Letters, digits, dots, dashes and underscores. Others see it in mentions and links.',
  });
  const displayName = textField({
    id: 'signup-display-name',
    name: 'display_name',
    label: 'Display name',
    autocomplete: 'name',
    hint: 'Optional: the name others see. You can change it later.',
  });
  const password = passwordField({
    id: 'signup-password',
    name: 'password',
    label: 'Password',
    autocomplete: 'new-password',
    required: true,
    minlength: 8,
    hint: 'At least 8 characters. A few unrelated words make a strong one.',
  });
  const errors = errorRegion('signup-error');
  const button = submitButton('Create account', { wide: true, id: 'signup-submit' });
  const form = stackedForm(
    { id: 'signup-form', 'aria-label': 'Create an account' },
    email.field,
    username.field,
    displayName.field,
    password.field,
    errors,
    button,
  );
  bindForm(form, {
    signal,
    button,
    errors,
    async onSubmit() {
      const fields = {
        email: email.input.value.trim(),
        username: username.input.value.trim(),
        displayName: displayName.input.value.trim() || username.input.value.trim(),
        password: password.input.value,
        invite,
      };
      await signUp(fields);
      rememberSignupEmail(fields.email);
      if (!signal.aborted) navigate('/check-email');
    },
  });
  return form;
}

export const signupView = {
  title: 'Create an account',
  render(outlet, { signal, navigate }) {
    const invite = (new URLSearchParams(window.location.search).get('invite') ?? '').trim();
    const body = h('div', { class: 'space-y-5' }, loadingLine('Checking sign-up…'));
    const view = authPage({
      view: 'signup',
      heading: 'Create an account',
      intro: 'One account for the editor, your workspaces, messages and calls.',
      body,
      footer: h('p', null, 'Already have an account? ', textLink('/signin', 'Sign in')),
    });
    outlet.append(view);

    Promise.all([
      getRegistrationMode(signal).catch(() => 'unknown'),
      invite ? isInviteValid(invite, signal).catch(() => null) : Promise.resolve(null),
    ]).then(([mode, inviteValid]) => {
      if (signal.aborted) return;
      view.dataset.registration = mode;
      if (invite) view.dataset.invite = inviteValid === true ? 'valid' : inviteValid === false ? 'invalid' : 'unknown';
      const form = (withInvite) => signupForm({ signal, navigate, invite: withInvite ? invite : '' });

      if (invite && inviteValid !== false) {
        replaceChildren(
          body,
          inviteValid ? notice('success', 'You have been invited. Create your account below.') : null,
          form(true),
        );
      } else if (invite && mode === 'open') {
        replaceChildren(
          body,
          notice('warning', 'This invitation link is not valid any more. You can still sign up without it.'),
          form(false),
        );
      } else if (invite) {
        replaceChildren(
          body,
          notice('error', 'This invitation link is not valid or has expired. Ask the person who invited you for a new one.'),
        );
      } else if (mode === 'invite') {
        replaceChildren(
          body,
          h('p', null, 'Sign-up on this server is by invitation only. Ask someone who uses it for an invitation link.'),
        );
      } else if (mode === 'closed') {
        replaceChildren(
          body,
          h('p', null, 'Registration is closed on this server. Ask an administrator to create an account for you.'),
        );
      } else {
        replaceChildren(body, form(false));
      }
    });
  },
};
