// The call screens, mounted once by the app shell so a call rings and continues on every
// page: the incoming call alert, the outgoing "ringing" screen, the in-call view, and a
// short note when a call ends or could not start.

import { h } from '../dom.js';
import { TEST_MODE } from '../shell/test-mode.js';
import { displayNameOf } from '../ui/avatar.js';
import { calls } from './call-controller.js';

export { startCall } from './call-controller.js';
import { inCallView } from './in-call-view.js';
import { ACCEPT_BUTTON, HANGUP_BUTTON, attachStream, controlButton, ringingAvatar, videoElement } from './ui-parts.js';
import { icon } from './icons.js';

const NOTE_MS = 6000;

function kindOf(phase) {
  if (phase === 'incoming') return 'incoming';
  if (phase === 'starting' || phase === 'outgoing') return 'outgoing';
  if (phase === 'accepting' || phase === 'active') return 'call';
  return 'none';
}

/** Keep Tab and Shift+Tab inside `root`. */
function trapFocus(root) {
  root.addEventListener('keydown', (event) => {
    if (event.key !== 'Tab') return;
    const items = [...root.querySelectorAll('button:not([disabled]), select, [href]')];
    if (items.length === 0) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  });
}

function incomingView(state) {
  const { call } = state;
  const caller = call.caller;
  const name = displayNameOf(caller);
  const kind = call.media === 'video' ? 'video' : 'audio';
  const others = calls.others(call).length;
  const description = others > 1 ? `Incoming ${kind} call with ${others} people` : `Incoming ${kind} call`;
  const error = h('p', { class: 'mt-3 text-sm text-bad', role: 'alert', hidden: true, dataset: { callError: '' } });
  const decline = controlButton({
    iconName: 'hangUp',
    label: 'Decline',
    className: HANGUP_BUTTON,
    dataset: { callDecline: '' },
    onClick: () => calls.decline(),
  });
  const accept = controlButton({
    iconName: kind === 'video' ? 'video' : 'phone',
    label: 'Accept',
    className: ACCEPT_BUTTON,
    dataset: { callAccept: '' },
    onClick: () => calls.accept(),
  });
  for (const part of [decline, accept]) part.wrap.querySelector('span').className = 'text-xs text-muted';
  const el = h(
    'div',
    {
      role: 'alertdialog',
      'aria-modal': 'false',
      'aria-labelledby': 'incoming-call-title',
      'aria-describedby': 'incoming-call-description',
      class:
        'fixed inset-x-0 top-4 z-50 mx-auto w-[min(24rem,calc(100vw-2rem))] rounded-2xl border border-line bg-surface p-5 text-fg shadow-2xl',
      dataset: { incomingCall: '' },
    },
    h(
      'div',
      { class: 'flex items-center gap-4' },
      ringingAvatar(caller),
      h(
        'div',
        { class: 'min-w-0' },
        h('h2', { id: 'incoming-call-title', class: 'truncate text-lg font-semibold' }, name),
        h('p', { id: 'incoming-call-description', class: 'text-sm text-muted' }, `${description}…`),
      ),
    ),
    h('div', { class: 'mt-5 flex justify-center gap-10' }, decline.wrap, accept.wrap),
    error,
  );
  trapFocus(el);
  el.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      calls.decline();
    }
  });
  const previous = document.activeElement;
  // A hidden tab shows the ring in its title.
  const pageTitle = document.title;
  const ringTitle = `Incoming call · ${name}`;
  document.title = ringTitle;
  return {
    el,
    afterMount: () => accept.button.focus(),
    update(next) {
      error.textContent = next.error;
      error.hidden = !next.error;
    },
    destroy() {
      if (document.title === ringTitle) document.title = pageTitle;
      const hadFocus = el.contains(document.activeElement);
      el.remove();
      if (hadFocus && previous instanceof HTMLElement && previous.isConnected) previous.focus();
    },
  };
}

function outgoingView() {
  const preview = videoElement({ local: true, className: 'size-full -scale-x-100 object-cover' });
  const previewBox = h('div', { class: 'aspect-video w-full max-w-md overflow-hidden rounded-xl bg-slate-900', hidden: true }, preview);
  const title = h('h2', { id: 'outgoing-call-title', class: 'text-2xl font-semibold' });
  const status = h('p', { class: 'text-slate-300', role: 'status', dataset: { callStatus: '' } });
  const note = h('p', { class: 'max-w-md text-center text-sm text-amber-300' });
  const avatarSlot = h('div');
  const cancel = controlButton({ iconName: 'hangUp', label: 'Cancel', className: HANGUP_BUTTON, dataset: { callCancel: '' }, onClick: () => calls.hangUp() });
  const el = h(
    'section',
    {
      'aria-labelledby': 'outgoing-call-title',
      class: 'fixed inset-0 z-50 flex flex-col items-center justify-center gap-5 overflow-y-auto bg-slate-950 p-6 text-white',
      dataset: { outgoingCall: '' },
    },
    avatarSlot,
    title,
    status,
    previewBox,
    note,
    cancel.wrap,
  );
  el.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      calls.hangUp();
    }
  });
  let shownFor = '';
  return {
    el,
    afterMount: () => cancel.button.focus(),
    update(state) {
      const call = state.call;
      const key = call ? call.id : '';
      if (key !== shownFor) {
        shownFor = key;
        const other = calls.others(call)[0];
        avatarSlot.replaceChildren(other ? ringingAvatar(other) : icon('phone', 'size-12'));
      }
      title.textContent = call ? `Calling ${calls.othersName(call)}` : 'Starting the call';
      status.textContent = state.phase === 'starting' ? 'Getting your camera and microphone ready…' : 'Ringing…';
      note.textContent = state.notice;
      const stream = state.localStream;
      previewBox.hidden = !stream?.getVideoTracks().length;
      attachStream(preview, stream);
    },
    destroy() {
      preview.srcObject = null;
      el.remove();
    },
  };
}

/** The note after a call (or a failed start); a role=alert when it is an error. */
function noteArea() {
  const text = h('p', { class: 'text-sm' });
  const close = h(
    'button',
    { type: 'button', class: 'rounded-md p-1 hover:bg-subtle', 'aria-label': 'Dismiss', onClick: () => calls.dismissEnded() },
    icon('close', 'size-4'),
  );
  const NOTE = 'fixed inset-x-0 bottom-4 z-50 mx-auto flex w-fit max-w-[calc(100vw-2rem)] items-center gap-3 rounded-lg border px-4 py-3 shadow-lg';
  const box = h(
    'div',
    { class: NOTE, hidden: true, dataset: { callNote: '' } },
    text,
    close,
  );
  const live = h('div', { class: 'sr-only', 'aria-live': 'polite' });
  let timer = 0;
  let shown = '';
  return {
    els: [box, live],
    update(state) {
      const message = state.phase === 'idle' ? state.error || state.ended : '';
      if (message === shown) return;
      shown = message;
      clearTimeout(timer);
      box.hidden = !message;
      text.textContent = message;
      box.className = `${NOTE} ${state.error ? 'border-bad/40 bg-bad-bg text-bad' : 'border-line bg-surface text-fg'}`;
      // Errors are alerts; other notes are read out by the polite live region below.
      if (state.error) box.setAttribute('role', 'alert');
      else box.removeAttribute('role');
      live.textContent = state.error ? '' : message;
      if (message && !state.error) timer = setTimeout(() => calls.dismissEnded(), NOTE_MS);
    },
  };
}

/** Mount the call screens into <body> and start the controller (with frames that came early). */
export function startCallUi(early = []) {
  calls.start(early);
  if (TEST_MODE) window.__collabcodeCalls = calls; // browser tests read the controller's state
  const host = h('div', { dataset: { callUi: '', callPhase: 'idle' } });
  const note = noteArea();
  host.append(...note.els);
  document.body.append(host);
  let view = null;
  let viewKind = 'none';
  calls.subscribe((state) => {
    host.dataset.callPhase = state.phase;
    const kind = kindOf(state.phase);
    if (kind !== viewKind) {
      view?.destroy();
      view = null;
      viewKind = kind;
      if (kind === 'incoming') view = incomingView(state);
      else if (kind === 'outgoing') view = outgoingView();
      else if (kind === 'call') view = inCallView(calls);
      document.body.classList.toggle('call-open', kind === 'outgoing' || kind === 'call');
      if (view) {
        host.append(view.el);
        view.update(state);
        view.afterMount?.();
      }
    } else view?.update(state);
    note.update(state);
  });
}
