// Signed-in sessions: device, IP address, last activity, "this device" badge, Revoke per
// row and "Sign out all other sessions". Revoking this device's session signs out.

import { h, replaceChildren } from '../../dom.js';
import { messageOf } from '../../api/api-error.js';
import { listSessions, revokeOtherSessions, revokeSession } from '../../auth/auth-api.js';
import { signOut } from '../../auth/session.js';
import { absoluteTime, relativeTime, toDate } from '../../format/time.js';
import { errorRegion, secondaryButton, setPending, showMessage, statusRegion } from '../../ui/form-controls.js';
import { loadingLine } from '../../ui/spinner.js';
import { settingsCard } from './settings-card.js';

function timeText(label, value) {
  const date = toDate(value);
  if (!date) return null;
  return h('span', null, `${label} `, h('time', { datetime: date.toISOString(), title: absoluteTime(date) }, relativeTime(date)));
}

function sortSessions(rows) {
  const seen = (row) => toDate(row.last_seen_at)?.getTime() ?? toDate(row.created_at)?.getTime() ?? 0;
  return [...rows].sort((a, b) => Number(b.current === true) - Number(a.current === true) || seen(b) - seen(a));
}

function sessionRow(session, index, onRevoke) {
  const current = session.current === true;
  const titleId = `session-${index}-device`;
  const device = typeof session.device === 'string' && session.device.trim() ? session.device.trim() : 'Unknown device';
  const details = [
    typeof session.ip === 'string' && session.ip ? h('span', { class: 'font-mono' }, session.ip) : null,
    current ? h('span', null, 'Active now') : timeText('Last active', session.last_seen_at),
    timeText('Signed in', session.created_at),
  ].filter(Boolean);
  const revoke = secondaryButton(current ? 'Sign out' : 'Revoke', {
    'aria-describedby': titleId,
    dataset: { revoke: '' },
  });
  revoke.addEventListener('click', () => onRevoke(session, revoke));
  return h(
    'li',
    {
      class: 'flex flex-wrap items-center justify-between gap-x-4 gap-y-2 py-4',
      dataset: { sessionRow: '', sessionId: String(session.id), current: current ? '1' : '0' },
    },
    h(
      'div',
      { class: 'min-w-0 flex-1' },
      h(
        'p',
        { class: 'flex flex-wrap items-center gap-2' },
        h('span', { id: titleId, class: 'font-medium break-words', title: device }, device),
        current
          ? h('span', { class: 'rounded-full bg-ok-bg px-2 py-0.5 text-xs font-semibold text-ok', dataset: { thisDevice: '' } }, 'This device')
          : null,
      ),
      h(
        'p',
        { class: 'mt-1 flex flex-col text-sm text-muted sm:flex-row sm:flex-wrap sm:gap-x-2' },
        details.flatMap((part, i) => (i ? [h('span', { class: 'hidden sm:inline', 'aria-hidden': 'true' }, '·'), part] : [part])),
      ),
    ),
    revoke,
  );
}

export function sessionsSection({ signal }) {
  const list = h('ul', { class: 'divide-y divide-line border-y border-line', 'aria-labelledby': 'sessions-heading' });
  const body = h('div', null, loadingLine('Loading your sessions…'));
  const errors = errorRegion('sessions-error');
  const status = statusRegion('sessions-status');
  const revokeOthers = secondaryButton('Sign out all other sessions', {
    id: 'revoke-other-sessions',
    dataset: { revokeOthers: '' },
  });
  let rows = [];

  const othersLeft = () => rows.some((row) => row.current !== true);
  const updateOthersButton = () => {
    revokeOthers.disabled = !othersLeft();
  };

  function draw() {
    replaceChildren(
      list,
      sortSessions(rows).map((row, i) => sessionRow(row, i, onRevoke)),
    );
    replaceChildren(body, rows.length ? list : h('p', { class: 'text-muted' }, 'No sessions to show.'));
    updateOthersButton();
  }

  async function load() {
    try {
      rows = await listSessions(signal);
      if (!signal.aborted) draw();
    } catch (error) {
      if (signal.aborted) return;
      replaceChildren(
        body,
        h('p', { class: 'text-sm text-bad' }, messageOf(error)),
        h('div', { class: 'mt-3' }, secondaryButton('Try again', { onClick: reload, signal })),
      );
    }
  }

  function reload() {
    replaceChildren(body, loadingLine('Loading your sessions…'));
    return load();
  }

  async function onRevoke(session, button) {
    showMessage(errors, 'error', '');
    showMessage(status, 'success', '');
    setPending(button, true);
    try {
      if (session.current === true) {
        await signOut();
        return;
      }
      await revokeSession(session.id);
      if (signal.aborted) return;
      const position = sortSessions(rows).indexOf(session);
      rows = rows.filter((row) => row !== session);
      draw();
      showMessage(status, 'success', 'Session revoked: that device is signed out.');
      const buttons = list.querySelectorAll('[data-revoke]');
      (buttons[Math.min(position, buttons.length - 1)] ?? revokeOthers).focus();
    } catch (error) {
      if (signal.aborted) return;
      setPending(button, false);
      showMessage(errors, 'error', messageOf(error));
    }
  }

  revokeOthers.addEventListener(
    'click',
    async () => {
      showMessage(errors, 'error', '');
      showMessage(status, 'success', '');
      setPending(revokeOthers, true);
      try {
        const { data } = await revokeOtherSessions();
        if (signal.aborted) return;
        const count = Number.isInteger(data?.revoked) ? data.revoked : null;
        await load();
        showMessage(
          status,
          'success',
          count === null ? 'All other sessions are signed out.' : `Signed out ${count} other ${count === 1 ? 'session' : 'sessions'}.`,
        );
      } catch (error) {
        if (!signal.aborted) showMessage(errors, 'error', messageOf(error));
      } finally {
        setPending(revokeOthers, false);
        updateOthersButton();
        if (revokeOthers.disabled && document.activeElement === document.body) {
          document.getElementById('sessions-heading')?.focus();
        }
      }
    },
    { signal },
  );

  load();

  const card = settingsCard(
    {
      id: 'sessions',
      title: 'Sessions',
      description: 'Devices where your account is signed in. Revoke any you do not recognise.',
      dataset: { sessions: '' },
    },
    body,
    h('div', { class: 'mt-4 space-y-3' }, errors, status, h('div', null, revokeOthers)),
  );
  return { card, reload };
}
