// Change the password (POST /api/auth/password/change).

import { h } from '../../dom.js';
import { changePassword } from '../../auth/auth-api.js';
import { getSession } from '../../auth/session.js';
import { bindForm } from '../../ui/bind-form.js';
import { errorRegion, passwordField, showMessage, statusRegion, submitButton } from '../../ui/form-controls.js';
import { settingsCard } from './settings-card.js';

export function passwordSection({ signal, onChanged }) {
  // Lets password managers tie the new password to the account.
  const username = h('input', {
    type: 'text',
    name: 'username',
    autocomplete: 'username',
    value: getSession().user?.username ?? '',
    readonly: true,
    hidden: true,
  });
  const current = passwordField({
    id: 'password-current',
    name: 'current_password',
    label: 'Current password',
    autocomplete: 'current-password',
    required: true,
  });
  const next = passwordField({
    id: 'password-new',
    name: 'new_password',
    label: 'New password',
    autocomplete: 'new-password',
    required: true,
    minlength: 8,
    hint: 'At least 8 characters.',
  });
  const errors = errorRegion('password-error');
  const status = statusRegion('password-status');
  const button = submitButton('Change password', { id: 'password-submit' });
  const form = h(
    'form',
    { id: 'password-form', novalidate: true, class: 'space-y-5', 'aria-label': 'Change password' },
    username,
    current.field,
    next.field,
    errors,
    status,
    h('div', null, button),
  );

  bindForm(form, {
    signal,
    button,
    errors,
    status,
    async onSubmit() {
      await changePassword(current.input.value, next.input.value);
      if (signal.aborted) return;
      form.reset();
      showMessage(status, 'success', 'Password changed. Other devices have to sign in again.');
      onChanged?.();
    },
    onError: (error) => {
      if (error?.status === 403 || error?.status === 401) current.input.focus();
    },
  });

  return settingsCard({ id: 'password', title: 'Password' }, form);
}
