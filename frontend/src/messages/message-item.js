// One message of a thread as a list item: its bubble (with the code it points at, if any),
// time, edited/deleted marks, ticks for one's own messages, and the actions menu (edit within
// 15 minutes, delete for everyone).

import { h } from '../dom.js';
import { clockTime, editable, fullTime } from './chat-format.js';
import { codeRefBlock, codeRefSignature } from './code-ref-view.js';
import { messageBody } from './message-body.js';
import { ticks } from './ticks.js';

const BUBBLE = 'relative max-w-[85%] rounded-2xl px-3 py-1.5 text-[0.9375rem] leading-relaxed shadow-sm sm:max-w-[70%]';
const OWN = 'rounded-br-md bg-indigo-100 text-slate-900 dark:bg-indigo-900 dark:text-slate-50';
const PEER = 'rounded-bl-md border border-line bg-surface text-fg';
const SMALL_BUTTON = 'rounded px-2 py-0.5 text-xs font-semibold underline underline-offset-2 hover:opacity-80';

/** A signature of everything an item shows: the element is rebuilt only when it changes. */
export function itemSignature(message, editing) {
  return [
    message.seq ?? '',
    message.client_id ?? '',
    message.body,
    message.deleted,
    message.edited,
    message.status,
    message.pending ? 'p' : '',
    message.failed ?? '',
    editing ? 'e' : '',
    message.pending ? '' : editable(message.created_at) ? 'w' : '',
    codeRefSignature(message.code_ref),
  ].join('\u0000');
}

function meta(message, own) {
  const status = message.pending ? 'pending' : message.status;
  return h(
    'span',
    { class: 'float-right ml-3 mt-1.5 flex select-none items-center gap-1 text-[0.6875rem] leading-none opacity-75' },
    message.edited && !message.deleted ? h('span', { dataset: { edited: '' } }, 'edited') : null,
    h('time', { datetime: message.created_at, title: fullTime(message.created_at) }, clockTime(message.created_at)),
    own && status ? ticks(status) : null,
  );
}

function editForm(message, { onSave, onCancel }) {
  const input = h('textarea', {
    class: 'block w-full min-w-[14rem] resize-y rounded-md border border-line bg-surface px-2 py-1 text-fg',
    rows: String(Math.min(8, message.body.split('\n').length + 1)),
    maxlength: '4000',
    'aria-label': 'Edit message',
    dataset: { editInput: '' },
  });
  input.value = message.body;
  const error = h('p', { class: 'mt-1 text-xs text-bad', role: 'alert' });
  const save = async () => {
    const body = input.value.trim();
    if (!body) {
      error.textContent = 'A message may not be empty. Delete it instead.';
      return;
    }
    if (body === message.body) {
      onCancel();
      return;
    }
    error.textContent = '';
    try {
      await onSave(body);
    } catch (failure) {
      error.textContent = failure?.message || 'The message could not be edited.';
    }
  };
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      save();
    } else if (event.key === 'Escape') {
      event.preventDefault();
      onCancel();
    }
  });
  queueMicrotask(() => {
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
  });
  return h(
    'div',
    { class: 'flex flex-col gap-1' },
    input,
    error,
    h(
      'div',
      { class: 'flex justify-end gap-2' },
      h('button', { type: 'button', class: SMALL_BUTTON, onClick: onCancel }, 'Cancel'),
      h('button', { type: 'button', class: SMALL_BUTTON, onClick: save, dataset: { editSave: '' } }, 'Save'),
    ),
  );
}

/** The "⋯" button and its menu for one's own message. */
function actionsMenu(message, { onEdit, onDelete }) {
  const canEdit = editable(message.created_at);
  const button = h(
    'button',
    {
      type: 'button',
      class:
        'absolute -top-2 -left-8 flex size-7 items-center justify-center rounded-full border border-line bg-surface text-muted opacity-0 shadow-sm group-hover:opacity-100 focus:opacity-100 hover:text-fg aria-expanded:opacity-100',
      'aria-label': 'Message actions',
      'aria-haspopup': 'menu',
      'aria-expanded': 'false',
      dataset: { messageMenu: '' },
    },
    '⋯',
  );
  let menu = null;
  const close = (refocus) => {
    if (!menu) return;
    menu.remove();
    menu = null;
    button.setAttribute('aria-expanded', 'false');
    document.removeEventListener('pointerdown', onOutside, true);
    if (refocus) button.focus();
  };
  const onOutside = (event) => {
    if (menu && !menu.contains(event.target) && event.target !== button) close(false);
  };
  const item = (label, action, data) =>
    h(
      'button',
      {
        type: 'button',
        role: 'menuitem',
        tabindex: '-1',
        class: 'block w-full px-3 py-1.5 text-left text-sm hover:bg-subtle focus:bg-subtle',
        dataset: data,
        onClick: () => {
          close(false);
          action();
        },
      },
      label,
    );
  const open = () => {
    const items = [
      canEdit && editable(message.created_at) ? item('Edit', onEdit, { menuEdit: '' }) : null,
      item('Delete for everyone', onDelete, { menuDelete: '' }),
    ].filter(Boolean);
    menu = h(
      'div',
      {
        role: 'menu',
        'aria-label': 'Message actions',
        class: 'absolute top-6 -left-8 z-20 min-w-44 overflow-hidden rounded-md border border-line bg-surface py-1 text-fg shadow-lg',
      },
      items,
    );
    menu.addEventListener('keydown', (event) => {
      const index = items.indexOf(document.activeElement);
      if (event.key === 'Escape') {
        event.preventDefault();
        close(true);
      } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        const step = event.key === 'ArrowDown' ? 1 : -1;
        items[(index + step + items.length) % items.length].focus();
      } else if (event.key === 'Tab') close(false);
    });
    button.after(menu);
    button.setAttribute('aria-expanded', 'true');
    document.addEventListener('pointerdown', onOutside, true);
    items[0].focus();
  };
  button.addEventListener('click', () => (menu ? close(true) : open()));
  return button;
}

/**
 * @param {object} message  a stored message, or a pending one (`pending: true`)
 * @param {object} options
 * @param {boolean} options.own
 * @param {string} options.peerName
 * @param {boolean} options.editing
 */
export function messageItem(message, { own, peerName, editing, onEdit, onSave, onCancelEdit, onDelete, onRetry, onDiscard }) {
  const bubble = h('div', { class: `${BUBBLE} ${own ? OWN : PEER}`, dataset: { bubble: '' } });
  bubble.append(h('span', { class: 'sr-only' }, own ? 'You: ' : `${peerName}: `));
  if (message.deleted) {
    bubble.append(
      h(
        'span',
        { class: 'italic opacity-75', dataset: { deletedMark: '' } },
        own ? 'You deleted this message' : 'This message was deleted',
      ),
      meta(message, own),
    );
  } else if (editing) {
    bubble.append(editForm(message, { onSave, onCancel: onCancelEdit }));
  } else {
    const code = codeRefBlock(message.code_ref);
    if (code) bubble.append(code);
    bubble.append(h('div', { class: 'contents', dataset: { body: '' } }, messageBody(message.body)), meta(message, own));
    if (own && !message.pending) bubble.append(actionsMenu(message, { onEdit, onDelete }));
  }
  const item = h(
    'li',
    {
      class: `group flex flex-col px-3 py-0.5 ${own ? 'items-end' : 'items-start'}`,
      dataset: {
        messageId: message.id ?? '',
        seq: message.seq ?? '',
        clientId: message.client_id ?? '',
        own: own ? 'true' : 'false',
        status: message.pending ? 'pending' : (message.status ?? ''),
      },
    },
    bubble,
  );
  if (message.failed) {
    item.append(
      h(
        'p',
        { class: 'mt-1 flex items-center gap-2 text-xs text-bad', role: 'alert' },
        h('span', null, `Not sent: ${message.failed}`),
        h('button', { type: 'button', class: SMALL_BUTTON, onClick: onRetry, dataset: { retry: '' } }, 'Retry'),
        h('button', { type: 'button', class: SMALL_BUTTON, onClick: onDiscard }, 'Discard'),
      ),
    );
  }
  return item;
}
