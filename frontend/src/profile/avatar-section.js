// Profile picture in the account settings: choose an image (PNG, JPEG, WebP or GIF up to
// 1 MiB, checked here before upload and again by the server), see it before saving, upload
// with progress, or remove it to go back to the initials avatar.

import { h } from '../dom.js';
import { messageOf } from '../api/api-error.js';
import { getSession, onSessionChange, updateUser } from '../auth/session.js';
import { avatar, avatarUrlOf } from '../ui/avatar.js';
import { errorRegion, secondaryButton, setPending, showMessage, statusRegion } from '../ui/form-controls.js';
import { settingsCard } from '../views/account/settings-card.js';
import { removeAvatar, uploadAvatar } from './social-api.js';

export const AVATAR_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'];
export const AVATAR_MAX_BYTES = 1024 * 1024;

/** The problem with `file` as an avatar, or '' (type and size; decoding is checked after). */
export function avatarProblem(file) {
  if (!file) return 'Choose an image first.';
  if (!AVATAR_TYPES.includes(file.type)) return 'Choose a PNG, JPEG, WebP or GIF image (SVG is not accepted).';
  if (file.size > AVATAR_MAX_BYTES) return `The image is ${(file.size / 1048576).toFixed(1)} MiB; the limit is 1 MiB.`;
  if (file.size === 0) return 'The file is empty.';
  return '';
}

/** Resolves when the browser can decode `url` as an image (a renamed non-image fails here). */
function decodes(url) {
  const img = new Image();
  img.src = url;
  return img.decode().then(
    () => img.naturalWidth > 0,
    () => false,
  );
}

function withVersion(url) {
  return url ? `${url}${url.includes('?') ? '&' : '?'}v=${Date.now()}` : url;
}

export function avatarSection({ signal }) {
  let chosen = null;
  let previewUrl = '';
  const preview = h('div', { class: 'shrink-0', dataset: { avatarPreview: '' } });
  const input = h('input', {
    type: 'file',
    id: 'avatar-file',
    accept: AVATAR_TYPES.join(','),
    class: 'sr-only',
    'aria-describedby': 'avatar-hint',
  });
  const chooseLabel = h(
    'label',
    { class: 'inline-flex cursor-pointer items-center rounded-md border border-line bg-surface px-3 py-1.5 text-sm font-medium hover:bg-subtle has-[:focus-visible]:outline-2 has-[:focus-visible]:outline-offset-2 has-[:focus-visible]:outline-focus' },
    input,
    'Choose a picture…',
  );
  const upload = secondaryButton('Upload', { dataset: { avatarUpload: '' } });
  const remove = secondaryButton('Remove picture', { dataset: { avatarRemove: '' } });
  const progress = h('progress', { max: '100', value: '0', class: 'h-2 w-40 accent-accent', 'aria-label': 'Upload progress', hidden: true });
  const errors = errorRegion('avatar-error');
  const status = statusRegion('avatar-status');

  function paint() {
    const user = getSession().user ?? {};
    const shown = previewUrl ? { ...user, avatar_url: previewUrl } : user;
    const image = previewUrl
      ? h('img', { src: previewUrl, alt: 'Preview of the new picture', class: 'size-24 rounded-full object-cover' })
      : avatar(shown, 'xl');
    preview.replaceChildren(image);
    upload.hidden = !chosen;
    remove.hidden = Boolean(chosen) || !avatarUrlOf(user);
  }

  function clearChoice() {
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = '';
    chosen = null;
    input.value = '';
  }

  input.addEventListener(
    'change',
    async () => {
      showMessage(errors, 'error', '');
      showMessage(status, 'success', '');
      const file = input.files?.[0] ?? null;
      clearChoice();
      const problem = avatarProblem(file);
      if (problem) {
        showMessage(errors, 'error', problem);
        paint();
        return;
      }
      const url = URL.createObjectURL(file);
      if (!(await decodes(url))) {
        URL.revokeObjectURL(url);
        showMessage(errors, 'error', 'That file is not an image this browser can read.');
        paint();
        return;
      }
      chosen = file;
      previewUrl = url;
      showMessage(status, 'success', 'Preview shown. Upload to use this picture.');
      paint();
      upload.focus();
    },
    { signal },
  );

  upload.addEventListener(
    'click',
    async () => {
      if (!chosen) return;
      showMessage(errors, 'error', '');
      showMessage(status, 'success', '');
      setPending(upload, true);
      progress.hidden = false;
      progress.value = 0;
      try {
        const user = await uploadAvatar(chosen, (fraction) => {
          progress.value = Math.round(fraction * 100);
        });
        if (signal.aborted) return;
        const url = avatarUrlOf(user) || `/api/users/${encodeURIComponent(getSession().user?.username ?? '')}/avatar`;
        updateUser({ avatar_url: withVersion(url) });
        clearChoice();
        showMessage(status, 'success', 'Picture saved.');
      } catch (error) {
        if (!signal.aborted) showMessage(errors, 'error', messageOf(error));
      } finally {
        progress.hidden = true;
        setPending(upload, false);
        paint();
      }
    },
    { signal },
  );

  remove.addEventListener(
    'click',
    async () => {
      showMessage(errors, 'error', '');
      showMessage(status, 'success', '');
      setPending(remove, true);
      try {
        await removeAvatar();
        if (signal.aborted) return;
        updateUser({ avatar_url: null });
        showMessage(status, 'success', 'Picture removed: your initials are shown instead.');
      } catch (error) {
        if (!signal.aborted) showMessage(errors, 'error', messageOf(error));
      } finally {
        setPending(remove, false);
        paint();
      }
    },
    { signal },
  );
  signal.addEventListener('abort', clearChoice);
  // The picture may become known (or change in another tab) after the page was drawn.
  onSessionChange(() => paint(), signal);

  paint();
  return settingsCard(
    { id: 'avatar', title: 'Profile picture', description: 'Shown next to your name. Without one, your initials are shown in your avatar colour.', dataset: { avatarSection: '' } },
    h(
      'div',
      { class: 'flex flex-wrap items-center gap-5' },
      preview,
      h(
        'div',
        { class: 'min-w-0 flex-1 space-y-3' },
        h('div', { class: 'flex flex-wrap items-center gap-2' }, chooseLabel, upload, remove),
        h('p', { id: 'avatar-hint', class: 'text-sm text-muted' }, 'PNG, JPEG, WebP or GIF, up to 1 MiB.'),
        progress,
        errors,
        status,
      ),
    ),
  );
}
