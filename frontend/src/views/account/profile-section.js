// Profile: display name, bio and avatar colour (PATCH /api/me), with a live preview.

import { h } from '../../dom.js';
import { updateMe } from '../../auth/auth-api.js';
import { getSession, updateUser } from '../../auth/session.js';
import { AVATAR_COLORS, avatar, avatarColor, displayNameOf, normaliseColor } from '../../ui/avatar.js';
import { bindForm } from '../../ui/bind-form.js';
import {
  errorRegion, showMessage, statusRegion, submitButton, textAreaField, textField,
} from '../../ui/form-controls.js';
import { settingsCard } from './settings-card.js';

const COLOR_NAMES = [
  'Indigo', 'Violet', 'Fuchsia', 'Pink', 'Red', 'Orange', 'Amber', 'Green', 'Teal', 'Blue', 'Slate',
];

function colorChoices(current) {
  const choices = AVATAR_COLORS.map((value, i) => ({ value, name: COLOR_NAMES[i] }));
  if (!AVATAR_COLORS.includes(current)) choices.unshift({ value: current, name: 'Current colour' });
  return choices;
}

function swatch({ value, name }, index, checked) {
  const input = h('input', {
    type: 'radio',
    name: 'avatar_color',
    id: `profile-color-${index}`,
    value,
    class: 'peer sr-only',
  });
  input.checked = checked;
  const dot = h('span', {
    class:
      'block size-8 rounded-full ring-offset-2 ring-offset-surface peer-checked:ring-2 peer-checked:ring-fg peer-focus-visible:outline-2 peer-focus-visible:outline-offset-4 peer-focus-visible:outline-focus',
    'aria-hidden': 'true',
  });
  dot.style.backgroundColor = value;
  return h('label', { for: input.id, class: 'relative cursor-pointer', title: name }, input, dot, h('span', { class: 'sr-only' }, name));
}

export function profileSection({ signal }) {
  const user = getSession().user ?? {};
  const current = avatarColor(user);

  const displayName = textField({
    id: 'profile-display-name',
    name: 'display_name',
    label: 'Display name',
    autocomplete: 'name',
    required: true,
    value: user.display_name ?? '',
  });
  const bio = textAreaField({
    id: 'profile-bio',
    name: 'bio',
    label: 'Bio',
    rows: 3,
    value: user.bio ?? '',
    hint: 'A line or two about you, shown on your profile.',
  });
  const choices = colorChoices(current);
  const colors = h(
    'fieldset',
    null,
    h('legend', { class: 'text-sm font-medium' }, 'Avatar colour'),
    h(
      'div',
      { class: 'mt-3 flex flex-wrap gap-3 px-1' },
      choices.map((choice, i) => swatch(choice, i, choice.value === current)),
    ),
  );

  const preview = h('div', { class: 'flex items-center gap-4', 'aria-hidden': 'true' });
  const selectedColor = () => colors.querySelector('input:checked')?.value ?? current;
  const renderPreview = () => {
    const draft = { ...user, display_name: displayName.input.value, avatar_color: selectedColor() };
    preview.replaceChildren(
      avatar(draft, 'large'),
      h(
        'div',
        { class: 'min-w-0' },
        h('p', { class: 'truncate font-semibold' }, displayNameOf(draft)),
        h('p', { class: 'truncate text-sm text-muted' }, user.username ? `@${user.username}` : ''),
      ),
    );
  };
  renderPreview();

  const errors = errorRegion('profile-error');
  const status = statusRegion('profile-status');
  const button = submitButton('Save profile', { id: 'profile-submit' });
  const form = h(
    'form',
    { id: 'profile-form', novalidate: true, class: 'space-y-5', 'aria-label': 'Profile' },
    preview,
    displayName.field,
    bio.field,
    colors,
    errors,
    status,
    h('div', null, button),
  );
  form.addEventListener('input', renderPreview, { signal });
  form.addEventListener('change', renderPreview, { signal });

  bindForm(form, {
    signal,
    button,
    errors,
    status,
    async onSubmit() {
      const saved = getSession().user ?? {};
      const fields = {};
      const name = displayName.input.value.trim();
      if (name !== (saved.display_name ?? '')) fields.display_name = name;
      if (bio.input.value !== (saved.bio ?? '')) fields.bio = bio.input.value;
      const color = normaliseColor(selectedColor());
      if (color && color !== normaliseColor(saved.avatar_color)) fields.avatar_color = color;
      if (!Object.keys(fields).length) {
        showMessage(status, 'success', 'Nothing to save: the profile has not changed.');
        return;
      }
      const profile = await updateMe(fields);
      if (signal.aborted) return;
      updateUser(profile && typeof profile === 'object' ? profile : fields);
      showMessage(status, 'success', 'Profile saved.');
    },
  });

  return settingsCard({ id: 'profile', title: 'Profile', description: 'How other people see you.' }, form);
}
