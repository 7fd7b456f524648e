// A modal yes/no question on <dialog> (the browser traps focus and handles Escape).

import { h } from '../dom.js';

const BUTTON = 'rounded-md border border-line bg-surface px-3 py-1.5 text-sm font-medium hover:bg-subtle';
const DANGER = 'rounded-md bg-bad px-3 py-1.5 text-sm font-semibold text-on-accent hover:opacity-90';

/** Resolves true when the user confirms. */
export function confirmAction({ title, text, confirmLabel }) {
  return new Promise((resolve) => {
    let answer = false;
    const dialog = h('dialog', {
      class: 'm-auto w-full max-w-sm rounded-lg border border-line bg-surface p-5 text-fg shadow-xl backdrop:bg-black/40',
      'aria-labelledby': 'confirm-title',
      dataset: { confirmDialog: '' },
    });
    const cancel = h('button', { type: 'button', class: BUTTON, onClick: () => dialog.close() }, 'Cancel');
    const confirm = h(
      'button',
      {
        type: 'button',
        class: DANGER,
        dataset: { confirm: '' },
        onClick: () => {
          answer = true;
          dialog.close();
        },
      },
      confirmLabel,
    );
    dialog.append(
      h('h2', { id: 'confirm-title', class: 'text-lg font-semibold' }, title),
      h('p', { class: 'mt-2 text-sm text-muted' }, text),
      h('div', { class: 'mt-5 flex justify-end gap-2' }, cancel, confirm),
    );
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(answer);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}
