// Initials avatar in the user's colour. The colour comes from the user's profile, so only
// a plain #rrggbb value is used; anything else gets a colour derived from the username.

import { h } from '../dom.js';

export const AVATAR_COLORS = [
  '#4338ca', '#7c3aed', '#a21caf', '#be185d', '#b91c1c',
  '#c2410c', '#a16207', '#15803d', '#0f766e', '#0369a1', '#475569',
];

export function normaliseColor(value) {
  if (typeof value !== 'string') return '';
  const hex = value.trim().toLowerCase();
  if (/^#[0-9a-f]{6}$/.test(hex)) return hex;
  if (/^#[0-9a-f]{3}$/.test(hex)) return `#${[...hex.slice(1)].map((c) => c + c).join('')}`;
  return '';
}

function fallbackColor(seed) {
  let hash = 0;
  for (const char of String(seed ?? '')) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  return AVATAR_COLORS[hash % AVATAR_COLORS.length];
}

export function avatarColor(user) {
  return normaliseColor(user?.avatar_color) || fallbackColor(user?.username ?? user?.id);
}

/** Near-black or white, whichever reads better on `hex`. */
function textColorOn(hex) {
  const channel = (i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  return luminance > 0.35 ? '#0f172a' : '#ffffff';
}

function firstGrapheme(word) {
  if (typeof Intl.Segmenter === 'function') {
    const [first] = new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(word);
    return first?.segment ?? '';
  }
  return Array.from(word)[0] ?? '';
}

export function displayNameOf(user) {
  const name = typeof user?.display_name === 'string' ? user.display_name.trim() : '';
  return name || (typeof user?.username === 'string' ? user.username : '') || 'Account';
}

export function initialsOf(user) {
  const words = displayNameOf(user).split(/\s+/).filter(Boolean);
  const picked = words.length > 1 ? [words[0], words[words.length - 1]] : words.slice(0, 1);
  return picked.map(firstGrapheme).join('').toLocaleUpperCase() || '?';
}

const SIZES = {
  small: 'size-8 text-xs',
  large: 'size-14 text-lg',
  xl: 'size-24 text-3xl',
};

/** The uploaded picture's same-origin URL, or '' (then the initials are drawn). */
export function avatarUrlOf(user) {
  const url = typeof user?.avatar_url === 'string' ? user.avatar_url : '';
  return url.startsWith('/') && !url.startsWith('//') ? url : '';
}

/** Decorative avatar (the name is always shown or announced next to it). */
export function avatar(user, size = 'small') {
  const url = avatarUrlOf(user);
  if (url) {
    const img = h('img', {
      src: url,
      alt: '',
      class: `shrink-0 rounded-full object-cover ${SIZES[size]}`,
      'aria-hidden': 'true',
      dataset: { avatar: 'image' },
    });
    // A picture that is gone (replaced, removed) falls back to the initials.
    img.addEventListener('error', () => img.replaceWith(avatar({ ...user, avatar_url: null }, size)), { once: true });
    return img;
  }
  const color = avatarColor(user);
  const el = h(
    'span',
    {
      class: `inline-flex shrink-0 select-none items-center justify-center rounded-full font-semibold ${SIZES[size]}`,
      'aria-hidden': 'true',
      dataset: { avatar: '' },
    },
    initialsOf(user),
  );
  el.style.backgroundColor = color;
  el.style.color = textColorOn(color);
  return el;
}
