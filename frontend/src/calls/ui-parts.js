// Small pieces shared by the call screens: round control buttons, video elements, avatars
// with a ringing pulse.

import { h } from '../dom.js';
import { avatar } from '../ui/avatar.js';
import { icon } from './icons.js';

export const ROUND_BUTTON =
  'inline-flex size-12 items-center justify-center rounded-full bg-white/10 text-white hover:bg-white/20 aria-pressed:bg-white aria-pressed:text-slate-900 disabled:opacity-50';
export const HANGUP_BUTTON =
  'inline-flex size-12 items-center justify-center rounded-full bg-red-600 text-white hover:bg-red-500';
export const ACCEPT_BUTTON =
  'inline-flex size-12 items-center justify-center rounded-full bg-green-600 text-white hover:bg-green-500';

/** A round icon button with its name shown under it. */
export function controlButton({ iconName, label, className = ROUND_BUTTON, dataset, onClick, pressed }) {
  const button = h(
    'button',
    { type: 'button', class: className, 'aria-label': label, dataset, onClick, 'aria-pressed': pressed == null ? null : String(pressed) },
    icon(iconName, 'size-6'),
  );
  const caption = h('span', { class: 'text-xs text-slate-300 group-data-[compact=true]:hidden', 'aria-hidden': 'true' }, label);
  const wrap = h('div', { class: 'flex w-20 flex-col items-center gap-1.5 group-data-[compact=true]:w-auto' }, button, caption);
  return {
    wrap,
    button,
    set({ label: nextLabel, iconName: nextIcon, pressed: nextPressed, disabled }) {
      if (nextLabel != null) {
        button.setAttribute('aria-label', nextLabel);
        caption.textContent = nextLabel;
      }
      if (nextIcon != null) button.replaceChildren(icon(nextIcon, 'size-6'));
      if (nextPressed != null) button.setAttribute('aria-pressed', String(nextPressed));
      if (disabled != null) button.disabled = disabled;
    },
  };
}

/** A <video> that plays a MediaStream; `local` ones are muted (no echo) and mirrored. */
export function videoElement({ local = false, className = '' } = {}) {
  const video = h('video', { autoplay: true, playsinline: true, class: className });
  video.muted = local;
  if (local) video.dataset.localVideo = '';
  return video;
}

/** Point `video` at `stream` (only when it changes, so playback does not restart). */
export function attachStream(video, stream) {
  if (video.srcObject !== stream) video.srcObject = stream ?? null;
  if (stream && video.paused) video.play().catch(() => {});
}

/** Has `stream` a video track that is live (not ended, not disabled, receiving)? */
export function showsVideo(stream) {
  return Boolean(stream?.getVideoTracks().some((t) => t.readyState === 'live' && t.enabled && !t.muted));
}

/** An avatar with expanding rings while `ringing` (the visual ringtone). */
export function ringingAvatar(user) {
  const rings = h(
    'span',
    { class: 'absolute inset-0', 'aria-hidden': 'true' },
    h('span', { class: 'absolute inset-0 rounded-full bg-green-500/40 motion-safe:animate-ping' }),
    h('span', { class: 'absolute -inset-2 rounded-full border-2 border-green-500/60 motion-safe:animate-pulse' }),
  );
  return h('span', { class: 'relative inline-flex size-14 shrink-0' }, rings, h('span', { class: 'relative' }, avatar(user, 'large')));
}
