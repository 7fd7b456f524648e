// "Verify your email" banner under the header for a signed-in user whose address is not
// verified yet, with a resend button. Dismissing it hides it for the rest of this tab's
// visit (remembered in sessionStorage; it holds only the user id, never a token).

import { h } from '../dom.js';
import { messageOf } from '../api/api-error.js';
import { resendVerification } from '../auth/auth-api.js';
import { getSession, onSessionChange } from '../auth/session.js';
import { setPending } from '../ui/form-controls.js';

const DISMISSED_KEY = 'collabcode.verifyBannerDismissed';

function dismissedFor(userId) {
  try {
    return sessionStorage.getItem(DISMISSED_KEY) === String(userId);
  } catch {
    return false;
  }
}

function rememberDismissed(userId) {
  try {
    sessionStorage.setItem(DISMISSED_KEY, String(userId));
  } catch {
    // Storage blocked: the banner comes back after a reload, which is fine.
  }
}

function banner(user, { onDismiss }) {
  const message = h('span', { class: 'text-sm', 'aria-live': 'polite', dataset: { bannerMessage: '' } });
  const resend = h(
    'button',
    {
      type: 'button',
      class:
        'inline-flex items-center gap-2 rounded-md border border-wait/40 px-3 py-1 text-sm font-semibold hover:bg-wait/10 disabled:opacity-70',
      dataset: { bannerResend: '' },
    },
    h('span', null, 'Resend email'),
  );
  resend.addEventListener('click', async () => {
    message.textContent = '';
    setPending(resend, true);
    try {
      await resendVerification();
      message.textContent = 'Sent. Check your inbox.';
    } catch (error) {
      message.textContent = messageOf(error);
    } finally {
      setPending(resend, false);
    }
  });
  const dismiss = h(
    'button',
    {
      type: 'button',
      class: 'ml-auto rounded-md px-2 py-1 text-sm font-medium hover:bg-wait/10',
      'aria-label': 'Dismiss the email verification reminder',
      dataset: { bannerDismiss: '' },
    },
    h('span', { 'aria-hidden': 'true' }, '✕'),
  );
  dismiss.addEventListener('click', onDismiss);
  return h(
    'div',
    {
      role: 'region',
      'aria-label': 'Email verification',
      class: 'border-b border-wait/30 bg-wait-bg text-wait',
      dataset: { verifyBanner: '' },
    },
    h(
      'div',
      { class: 'mx-auto flex max-w-6xl flex-wrap items-center gap-x-4 gap-y-2 px-4 py-2' },
      h(
        'p',
        { class: 'text-sm' },
        h('strong', { class: 'font-semibold' }, 'Verify your email'),
        user.email ? [': we sent a link to ', h('span', { class: 'break-all' }, user.email), '.'] : '.',
      ),
      resend,
      message,
      dismiss,
    ),
  );
}

/** Keep `slot` (the element under the header) showing the banner when it applies. */
export function startVerifyEmailBanner(slot) {
  let shownFor = null;
  const render = (state) => {
    const user = state.user;
    const show = state.status === 'signed-in' && user?.email_verified === false && !dismissedFor(user.id);
    const key = show ? `${user.id}|${user.email}` : null;
    if (key === shownFor) return;
    shownFor = key;
    if (!show) {
      slot.replaceChildren();
      return;
    }
    slot.replaceChildren(
      banner(user, {
        onDismiss: () => {
          rememberDismissed(user.id);
          const hadFocus = slot.contains(document.activeElement);
          slot.replaceChildren();
          shownFor = null;
          if (hadFocus) document.getElementById('main')?.focus({ preventScroll: true });
        },
      }),
    );
  };
  render(getSession());
  onSessionChange(render);
}
