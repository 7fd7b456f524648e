// "Show as diff": the assistant's proposal next to the current text in Monaco's diff
// editor, in a modal <dialog>. The right side can be edited before applying. Applying
// goes through `onApply`, which refuses when the text on the left is no longer what the
// document holds (a teammate edited it meanwhile); the dialog then shows the new text
// and asks again instead of overwriting it.

import { h } from '../dom.js';
import { notice } from '../ui/notice.js';

const BUTTON = 'rounded-md border border-line bg-surface px-3 py-1.5 text-sm font-medium hover:bg-subtle';
const PRIMARY = 'rounded-md bg-accent px-3 py-1.5 text-sm font-semibold text-on-accent hover:bg-accent-strong disabled:opacity-50';

/**
 * @param {object} options
 * @param {object} options.monaco
 * @param {string} options.title
 * @param {string} options.language  Monaco language id for both sides
 * @param {string} options.original  the document's text of the range now
 * @param {string} options.proposed  the assistant's text
 * @param {string} [options.warning]  shown above the diff (e.g. "someone changed these lines")
 * @param {boolean} [options.readOnly]  view only: no Apply button
 * @param {(text: string) => ({applied: true} | {changed: string} | {error: string})} options.onApply
 * @returns {Promise<boolean>} whether the change was applied
 */
export function showDiffDialog({ monaco, title, language, original, proposed, warning, readOnly = false, onApply }) {
  return new Promise((resolve) => {
    let applied = false;
    const originalModel = monaco.editor.createModel(original, language || 'plaintext');
    const modifiedModel = monaco.editor.createModel(proposed, language || 'plaintext');
    const host = h('div', { class: 'h-[60vh] min-h-64 w-full overflow-hidden rounded-md border border-line', dataset: { diffEditor: '' } });
    const message = h('div', { class: 'empty:hidden', role: 'alert' }, warning ? notice('warning', warning) : null);
    const applyButton = readOnly ? null : h('button', { type: 'button', class: PRIMARY, dataset: { diffApply: '' } }, 'Apply');
    const dialog = h(
      'dialog',
      {
        class: 'm-auto w-[min(64rem,calc(100vw-2rem))] max-w-none rounded-lg border border-line bg-surface p-5 text-fg shadow-xl backdrop:bg-black/40',
        'aria-labelledby': 'assistant-diff-title',
        dataset: { dialog: '', assistantDiff: '' },
      },
      h(
        'div',
        { class: 'flex flex-col gap-3' },
        h('h2', { id: 'assistant-diff-title', class: 'text-lg font-semibold' }, title),
        h(
          'p',
          { class: 'flex justify-between text-xs text-muted' },
          h('span', null, 'Now in the file'),
          h('span', null, readOnly ? 'Suggested by the assistant' : 'Suggested by the assistant (you can edit it)'),
        ),
        message,
        host,
        h(
          'div',
          { class: 'flex justify-end gap-2' },
          h('button', { type: 'button', class: BUTTON, onClick: () => dialog.close() }, readOnly ? 'Close' : 'Cancel'),
          applyButton,
        ),
      ),
    );
    document.body.append(dialog);
    dialog.showModal();

    const diff = monaco.editor.createDiffEditor(host, {
      automaticLayout: true,
      originalEditable: false,
      readOnly,
      renderSideBySide: window.matchMedia('(min-width: 768px)').matches,
      minimap: { enabled: false },
      scrollBeyondLastLine: false,
      fontSize: 13,
      fontFamily: 'ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace',
    });
    diff.setModel({ original: originalModel, modified: modifiedModel });

    applyButton?.addEventListener('click', () => {
      const result = onApply(modifiedModel.getValue());
      if (result?.applied) {
        applied = true;
        dialog.close();
      } else if (result && 'changed' in result) {
        originalModel.setValue(result.changed);
        message.replaceChildren(
          notice('warning', 'Someone changed these lines while you were looking. The left side now shows their version: check the change again, then apply.'),
        );
      } else {
        message.replaceChildren(notice('error', result?.error ?? 'The change could not be applied.'));
      }
    });

    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(applied);
      diff.dispose();
      originalModel.dispose();
      modifiedModel.dispose();
    });
    queueMicrotask(() => (applyButton || dialog).focus());
  });
}
