// /calls: start a call by username, check camera and microphone, and the call history
// (missed calls stand out, with a way to call back).

import { getSession } from '../auth/session.js';
import { messageOf } from '../api/api-error.js';
import { h, replaceChildren } from '../dom.js';
import { absoluteTime, relativeTime, toDate } from '../format/time.js';
import { avatar, displayNameOf } from '../ui/avatar.js';
import { notice } from '../ui/notice.js';
import { loadingLine } from '../ui/spinner.js';
import { page, pageHeading } from '../views/page-layout.js';
import { calls, formatDuration } from './call-controller.js';
import { fetchHistory } from './calls-api.js';
import { deviceCheck } from './device-check.js';
import { icon } from './icons.js';
import { startCall } from './start-calls.js';

const MISSED = new Set(['missed', 'timeout', 'no_answer', 'cancelled']);
const SMALL_BUTTON =
  'inline-flex items-center gap-1.5 rounded-md border border-line bg-surface px-2.5 py-1 text-sm font-medium hover:bg-subtle disabled:opacity-60';

/** How the call went, from the signed-in user's side. */
function outcome(call, me) {
  const outgoing = call.caller.user_id === me;
  const answered = Boolean(call.answered_at);
  const reason = String(call.end_reason ?? '');
  if (call.state !== 'ended') return { text: call.state === 'active' ? 'In progress' : 'Ringing', missed: false, outgoing };
  if (!outgoing && !answered && (MISSED.has(reason) || reason === '')) return { text: 'Missed', missed: true, outgoing };
  if (!outgoing && reason === 'declined') return { text: 'Declined', missed: false, outgoing };
  if (outgoing && !answered) {
    const text = reason === 'declined' ? 'Declined' : reason === 'busy' ? 'Busy' : reason === 'cancelled' ? 'Cancelled' : 'No answer';
    return { text, missed: false, outgoing };
  }
  const start = toDate(call.answered_at);
  const end = toDate(call.ended_at);
  const duration = start && end ? formatDuration(end.getTime() - start.getTime()) : '';
  return { text: duration ? `${outgoing ? 'Outgoing' : 'Incoming'} · ${duration}` : outgoing ? 'Outgoing' : 'Incoming', missed: false, outgoing };
}

function historyRow(call, me) {
  const others = call.participants.filter((p) => p.user_id !== me);
  const other = others[0] ?? call.caller;
  const names = others.length ? others.map((p) => displayNameOf(p)).join(', ') : displayNameOf(call.caller);
  const result = outcome(call, me);
  const when = toDate(call.started_at);
  const callBack = (media) =>
    h(
      'button',
      {
        type: 'button',
        class: SMALL_BUTTON,
        'aria-label': `${media === 'video' ? 'Video' : 'Audio'} call ${names}`,
        onClick: () => startCall({ callee: other.username, media, conversation_id: call.conversation_id ?? undefined }),
      },
      icon(media === 'video' ? 'video' : 'phone', 'size-4'),
      h('span', null, media === 'video' ? 'Video' : 'Audio'),
    );
  const canCallBack = others.length === 1 && other.username && !call.workspace_id;
  return h(
    'li',
    {
      class: `flex flex-wrap items-center gap-3 rounded-lg border px-4 py-3 ${result.missed ? 'border-bad/50 bg-bad-bg' : 'border-line bg-surface'}`,
      dataset: { callHistoryItem: call.id, missed: String(result.missed) },
    },
    avatar(other),
    h(
      'div',
      { class: 'min-w-0 flex-1' },
      h('p', { class: 'truncate font-semibold' }, call.workspace_id ? `Workspace call · ${names}` : names),
      h(
        'p',
        { class: `flex flex-wrap items-center gap-x-2 text-sm ${result.missed ? 'font-semibold text-bad' : 'text-muted'}` },
        icon(call.media === 'video' ? 'video' : 'phone', 'size-4'),
        h('span', null, `${call.media === 'video' ? 'Video' : 'Audio'} · ${result.text}`),
        when ? h('time', { datetime: when.toISOString(), title: absoluteTime(when) }, relativeTime(when)) : null,
      ),
    ),
    canCallBack ? h('div', { class: 'flex gap-2' }, callBack('audio'), callBack('video')) : null,
  );
}

function startForm(signal) {
  const input = h('input', {
    id: 'call-username',
    name: 'callee',
    required: true,
    maxlength: '64',
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'username',
    class: 'min-w-0 flex-1 rounded-md border border-line bg-canvas px-3 py-2 text-fg',
  });
  const error = h('p', { class: 'min-h-5 text-sm text-bad', role: 'alert' });
  const button = (media) =>
    h(
      'button',
      {
        type: 'submit',
        value: media,
        class:
          'inline-flex items-center gap-2 rounded-md bg-accent px-4 py-2 font-semibold text-on-accent hover:bg-accent-strong disabled:opacity-60',
        dataset: { startCall: media },
      },
      icon(media === 'video' ? 'video' : 'phone', 'size-4'),
      media === 'video' ? 'Video call' : 'Audio call',
    );
  const form = h(
    'form',
    { class: 'rounded-lg border border-line bg-surface p-5', 'aria-labelledby': 'start-call-title', novalidate: true },
    h('h2', { id: 'start-call-title', class: 'text-lg font-semibold' }, 'Call someone'),
    h('p', { class: 'mt-1 text-sm text-muted' }, 'You can call people you share a conversation or workspace with.'),
    h('label', { for: 'call-username', class: 'mt-4 block text-sm font-medium' }, 'Username'),
    h('div', { class: 'mt-1 flex flex-wrap gap-2' }, input, button('audio'), button('video')),
    error,
  );
  form.addEventListener(
    'submit',
    (event) => {
      event.preventDefault();
      const callee = input.value.trim().replace(/^@/, '');
      if (!callee) {
        error.textContent = 'Enter the username of the person to call.';
        input.focus();
        return;
      }
      error.textContent = '';
      const media = event.submitter?.value === 'audio' ? 'audio' : 'video';
      startCall({ callee, media });
    },
    { signal },
  );
  return form;
}

export const callsView = {
  title: 'Calls',
  render(outlet, { signal }) {
    const history = h('div', { class: 'mt-3', dataset: { callHistory: 'loading' }, 'aria-live': 'polite' }, loadingLine('Loading your calls…'));
    const load = async () => {
      try {
        const list = await fetchHistory({ signal });
        if (signal.aborted) return;
        const me = String(getSession().user?.id ?? '');
        history.dataset.callHistory = 'ready';
        if (list.length === 0) replaceChildren(history, h('p', { class: 'text-muted' }, 'No calls yet.'));
        else replaceChildren(history, h('ul', { class: 'flex flex-col gap-2' }, list.map((call) => historyRow(call, me))));
      } catch (error) {
        if (signal.aborted) return;
        history.dataset.callHistory = 'error';
        replaceChildren(history, notice('error', messageOf(error)));
      }
    };
    let phase = calls.state.phase;
    const unsubscribe = calls.subscribe((state) => {
      // A call just ended or was answered elsewhere: it belongs in the history now.
      if (state.phase === 'idle' && phase !== 'idle') load();
      phase = state.phase;
    });
    signal.addEventListener('abort', unsubscribe);
    load();
    outlet.append(
      page(
        pageHeading('Calls'),
        h('p', { class: 'mt-3 max-w-2xl text-lg text-muted' }, 'Audio and video calls with screen sharing, straight from your browser.'),
        h('div', { class: 'mt-8 grid gap-6' }, startForm(signal), deviceCheck(signal)),
        h(
          'section',
          { class: 'mt-8', 'aria-labelledby': 'call-history-title' },
          h('h2', { id: 'call-history-title', class: 'text-lg font-semibold' }, 'Recent calls'),
          history,
        ),
      ),
    );
  },
};
