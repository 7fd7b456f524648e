// /signin?next=/path: sign in with email or username and password, then go to `next`
// (a path on this origin only) or the home page.

import { h } from '../dom.js';
import { getRegistrationMode, logIn } from '../auth/auth-api.js';
import { safeNextPath } from '../auth/safe-next.js';
import { getSession, onSessionChange } from '../auth/session.js';
import { bindForm } from '../ui/bind-form.js';
import { errorRegion, passwordField, submitButton, textField } from '../ui/form-controls.js';
import { authPage, stackedForm } from './auth-page.js';
import { textLink } from './page-layout.js';

function signupHint(mode) {
  if (mode === 'open') return h('p', null, 'New to collabcode? ', textLink('/signup', 'Create an account'));
  if (mode === 'invite') return h('p', null, 'New here? Sign-up is by invitation: open the link in your invitation.');
  return null;
}

export const signinView = {
  title: 'Sign in',
  render(outlet, { signal, navigate }) {
    const next = safeNextPath(new URLSearchParams(window.location.search).get('next'));
    const goNext = () => {
      if (!signal.aborted) navigate(next, { replace: true });
    };
    if (getSession().status === 'signed-in') {
      queueMicrotask(goNext);
      return;
    }
    onSessionChange((state) => state.status === 'signed-in' && goNext(), signal);

    const login = textField({
      id: 'signin-login',
      name: 'login',
      label: 'Email or username',
      autocomplete: 'username',
      autocapitalize: 'none',
      spellcheck: 'false',
      required: true,
    });
    const password = passwordField({
      id: 'signin-password',
      name: 'password',
      label: 'Password',
      autocomplete: 'current-password',
      required: true,
    });
    const errors = errorRegion('signin-error');
    const button = submitButton('Sign in', { wide: true, id: 'signin-submit' });
    const form = stackedForm(
      { id: 'signin-form', 'aria-labelledby': 'signin-heading' },
      login.field,
      h(
        'div',
        null,
        password.field,
        h('p', { class: 'mt-2 text-right text-sm' }, textLink('/forgot-password', 'Forgot your password?')),
      ),
      errors,
      button,
    );
    const footer = h('div', { dataset: { signupHint: '' } });

    bindForm(form, {
      signal,
      button,
      errors,
      onSubmit: () => logIn(login.input.value.trim(), password.input.value),
      onError: (error) => {
        if (error?.status === 401) {
          password.input.focus();
          password.input.select();
        }
      },
    });

    const view = authPage({
      view: 'signin',
      heading: 'Sign in',
      intro: next === '/' ? 'Welcome back.' : 'Sign in to continue to that page.',
      body: form,
      footer,
    });
    view.querySelector('h1').id = 'signin-heading';
    outlet.append(view);

    getRegistrationMode(signal).then(
      (mode) => footer.append(signupHint(mode) ?? ''),
      () => signal.aborted || footer.append(signupHint('open')),
    );
  },
};
