// Phone number, discoverability and privacy in the account settings (GET/PATCH /api/me/privacy,
// docs/chat.md): a number people who have it can find you by (only ever shown as a hint such as
// "+44 ••• 56"), whether they may, read receipts, and appearing offline.

import { h, replaceChildren } from '../dom.js';
import { messageOf } from '../api/api-error.js';
import { authRequest } from '../auth/auth-request.js';
import { bindForm } from '../ui/bind-form.js';
import {
  errorRegion, secondaryButton, setPending, showMessage, statusRegion, submitButton, textField,
} from '../ui/form-controls.js';
import { loadingLine } from '../ui/spinner.js';
import { settingsCard } from '../views/account/settings-card.js';

const SWITCHES = [
  ['discoverable', 'Let people who have my phone number find me', 'Only people who add your number in their contacts search can find you, and only once your email is verified.'],
  ['read_receipts', 'Send read receipts', 'When off, people do not see when you read their messages, and you do not see when they read yours.'],
  ['invisible', 'Appear offline', 'Everyone sees you as offline, with no last-seen time.'],
];

async function getPrivacy(signal) {
  return (await authRequest('/api/me/privacy', { signal })).data ?? {};
}

async function patchPrivacy(fields) {
  return (await authRequest('/api/me/privacy', { method: 'PATCH', body: fields })).data ?? {};
}

function checkbox(key, label, hint, checked) {
  const id = `privacy-${key}`;
  const input = h('input', { id, name: key, type: 'checkbox', class: 'mt-0.5 size-4 shrink-0 accent-accent', 'aria-describedby': `${id}-hint` });
  input.checked = Boolean(checked);
  return {
    input,
    field: h(
      'div',
      { class: 'flex items-start gap-3' },
      input,
      h('div', null, h('label', { for: id, class: 'text-sm font-medium' }, label), h('p', { id: `${id}-hint`, class: 'text-sm text-muted' }, hint)),
    ),
  };
}

export function privacySection({ signal }) {
  const body = h('div', null, loadingLine('Loading privacy settings…'));

  function render(settings) {
    const phone = textField({
      id: 'privacy-phone',
      name: 'phone_number',
      label: settings.phone_number_hint ? 'Replace phone number' : 'Phone number',
      type: 'tel',
      autocomplete: 'tel',
      maxlength: 64,
      hint: 'With the country code, like +44 20 7946 0958. Only a hint of it is ever shown, here included.',
    });
    const region = textField({
      id: 'privacy-region',
      name: 'phone_region',
      label: 'Country code for numbers without +',
      autocomplete: 'country',
      maxlength: 2,
      hint: 'Two letters, like GB or US. Only needed when the number does not start with +.',
    });
    region.input.classList.add('max-w-24', 'uppercase');
    const switches = SWITCHES.map(([key, label, hint]) => [key, checkbox(key, label, hint, settings[key])]);
    const errors = errorRegion('privacy-error');
    const status = statusRegion('privacy-status');
    const button = submitButton('Save privacy settings', { id: 'privacy-submit' });
    let remove = null;
    if (settings.phone_number_hint) {
      remove = secondaryButton('Remove number', { dataset: { removePhone: '' } });
      remove.addEventListener(
        'click',
        async () => {
          showMessage(errors, 'error', '');
          setPending(remove, true);
          try {
            const saved = await patchPrivacy({ phone_number: null });
            if (signal.aborted) return;
            render(saved);
            showMessage(body.querySelector('[data-form-status]'), 'success', 'Phone number removed.');
          } catch (error) {
            if (!signal.aborted) showMessage(errors, 'error', messageOf(error));
            if (remove.isConnected) setPending(remove, false);
          }
        },
        { signal },
      );
    }
    const form = h(
      'form',
      { id: 'privacy-form', class: 'space-y-5', 'aria-label': 'Phone number and privacy', novalidate: true },
      h(
        'p',
        { class: 'flex flex-wrap items-center gap-3 text-sm', dataset: { phoneHint: settings.phone_number_hint ?? '' } },
        settings.phone_number_hint ? ['Saved number: ', h('span', { class: 'font-mono' }, settings.phone_number_hint)] : 'No phone number saved.',
        remove,
      ),
      phone.field,
      region.field,
      h('fieldset', { class: 'space-y-4' }, h('legend', { class: 'mb-3 text-sm font-semibold' }, 'Privacy'), switches.map(([, s]) => s.field)),
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
        const fields = {};
        const number = phone.input.value.trim();
        if (number) {
          fields.phone_number = number;
          const code = region.input.value.trim().toUpperCase();
          if (code) fields.phone_region = code;
        }
        for (const [key, s] of switches) if (s.input.checked !== Boolean(settings[key])) fields[key] = s.input.checked;
        if (!Object.keys(fields).length) {
          showMessage(status, 'success', 'Nothing to save: nothing has changed.');
          return;
        }
        const saved = await patchPrivacy(fields);
        if (signal.aborted) return;
        render(saved);
        showMessage(body.querySelector('[data-form-status]'), 'success', 'Privacy settings saved.');
      },
    });
    replaceChildren(body, form);
  }

  function load() {
    getPrivacy(signal).then(
      (settings) => !signal.aborted && render(settings),
      (error) => {
        if (signal.aborted) return;
        replaceChildren(body, h('p', { role: 'alert', class: 'text-sm text-bad' }, messageOf(error)), h('div', { class: 'mt-3' }, secondaryButton('Try again', { onClick: load, signal })));
      },
    );
  }
  load();

  return settingsCard(
    { id: 'privacy', title: 'Phone number and privacy', description: 'How people can find you, and what they see of your activity.', dataset: { privacySection: '' } },
    body,
  );
}
