// Modal dialogs for the workspace view, built on <dialog> (focus trapping and Escape
// come from the browser).

import { h } from '../dom.js';

const BUTTON = 'rounded-md border border-line bg-surface px-3 py-1.5 text-sm font-medium hover:bg-subtle';
const PRIMARY = 'rounded-md bg-accent px-3 py-1.5 text-sm font-semibold text-on-accent hover:bg-accent-strong';
const DANGER = 'rounded-md bg-bad px-3 py-1.5 text-sm font-semibold text-on-accent hover:opacity-90';

function openDialog(build) {
  return new Promise((resolve) => {
    const dialog = h('dialog', {
      class: 'm-auto w-full max-w-md rounded-lg border border-line bg-surface p-5 text-fg shadow-xl backdrop:bg-black/40',
      dataset: { dialog: '' },
    });
    let result = null;
    const finish = (value) => {
      result = value;
      dialog.close();
    };
    build(dialog, finish);
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(result);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Ask for a line of text. Resolves with the trimmed text, or null when cancelled. */
export function askText({ title, label, value = '', submitLabel = 'OK', validate }) {
  return openDialog((dialog, finish) => {
    const input = h('input', {
      id: 'dialog-input',
      value,
      autocomplete: 'off',
      spellcheck: 'false',
      class: 'w-full rounded-md border border-line bg-surface px-3 py-2 font-mono text-sm text-fg',
    });
    const error = h('p', { class: 'min-h-5 text-sm text-bad', role: 'alert' });
    const form = h(
      'form',
      { method: 'dialog', class: 'flex flex-col gap-3' },
      h('h2', { class: 'text-lg font-semibold' }, title),
      h('label', { for: 'dialog-input', class: 'text-sm font-medium' }, label),
      input,
      error,
      h(
        'div',
        { class: 'flex justify-end gap-2' },
        h('button', { type: 'button', class: BUTTON, onClick: () => finish(null) }, 'Cancel'),
        h('button', { type: 'submit', class: PRIMARY, dataset: { dialogSubmit: '' } }, submitLabel),
      ),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const text = input.value.trim();
      const problem = validate?.(text);
      if (problem) {
        error.textContent = problem;
        input.focus();
        return;
      }
      finish(text);
    });
    dialog.append(form);
    queueMicrotask(() => {
      input.focus();
      const dot = value.lastIndexOf('.');
      const slash = value.lastIndexOf('/');
      input.setSelectionRange(slash + 1, dot > slash + 1 ? dot : value.length);
    });
  });
}

/** Ask to confirm a destructive action. Resolves with true or false. */
export function confirmDanger({ title, message, confirmLabel = 'Delete' }) {
  return openDialog((dialog, finish) => {
    const cancel = h('button', { type: 'button', class: BUTTON, onClick: () => finish(false) }, 'Cancel');
    dialog.setAttribute('role', 'alertdialog');
    dialog.append(
      h('h2', { class: 'text-lg font-semibold' }, title),
      h('p', { class: 'mt-2 text-sm text-muted' }, message),
      h(
        'div',
        { class: 'mt-4 flex justify-end gap-2' },
        cancel,
        h('button', { type: 'button', class: DANGER, dataset: { confirm: '' }, onClick: () => finish(true) }, confirmLabel),
      ),
    );
    queueMicrotask(() => cancel.focus());
  }).then(Boolean);
}

/**
 * Pick a folder to move something into. `folders` are paths ('' = the top level). Resolves with
 * the chosen path, or null when cancelled.
 */
export function chooseFolder({ title, folders, current = '', submitLabel = 'Move' }) {
  return openDialog((dialog, finish) => {
    const select = h(
      'select',
      { id: 'dialog-folder', class: 'w-full rounded-md border border-line bg-surface px-3 py-2 font-mono text-sm text-fg', dataset: { folderChoice: '' } },
      folders.map((path) => h('option', { value: path, selected: path === current }, path === '' ? '(top level)' : `${path}/`)),
    );
    const form = h(
      'form',
      { method: 'dialog', class: 'flex flex-col gap-3' },
      h('h2', { class: 'text-lg font-semibold' }, title),
      h('label', { for: 'dialog-folder', class: 'text-sm font-medium' }, 'Folder'),
      select,
      h(
        'div',
        { class: 'flex justify-end gap-2' },
        h('button', { type: 'button', class: BUTTON, onClick: () => finish(null) }, 'Cancel'),
        h('button', { type: 'submit', class: PRIMARY, dataset: { dialogSubmit: '' } }, submitLabel),
      ),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      finish(select.value);
    });
    dialog.append(form);
    queueMicrotask(() => select.focus());
  });
}
