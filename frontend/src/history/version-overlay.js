// The version view over the live editor: an old version's text in a read-only Monaco editor,
// or Monaco's diff editor between a version and the live text (or two versions). The live
// editor stays underneath, untouched; "Back to the live file" (or Escape) takes this away.

import { h } from '../dom.js';

const EDITOR_FONT = 'ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace';
const BUTTON = 'rounded-md border border-line bg-surface px-2 py-1 text-xs font-medium text-fg hover:bg-subtle';

/**
 * @param {object} options
 * @param {object} options.monaco
 * @param {HTMLElement} options.frame  the live editor's frame (positioned)
 * @param {AbortSignal} options.signal
 * @param {() => void} options.onClose  the user asked to go back to the live file
 */
export function createVersionOverlay({ monaco, frame, signal, onClose }) {
  const heading = h('h3', { class: 'min-w-0 truncate text-sm font-semibold', id: 'history-view-heading', dataset: { historyViewHeading: '' } }, '');
  const sides = h('p', { class: 'hidden justify-between px-3 pb-1 text-xs text-muted', dataset: { historyDiffSides: '' } });
  const textHost = h('div', { class: 'absolute inset-0', dataset: { historyReadonly: '' } });
  const diffHost = h('div', { class: 'absolute inset-0', hidden: true, dataset: { historyDiff: '' } });
  const element = h(
    'section',
    {
      class: 'absolute inset-0 z-20 flex flex-col bg-surface',
      'aria-labelledby': 'history-view-heading',
      hidden: true,
      dataset: { historyView: '' },
      onKeydown: (event) => {
        if (event.key === 'Escape' && !event.defaultPrevented) {
          event.preventDefault();
          onClose();
        }
      },
      signal,
    },
    h(
      'div',
      { class: 'flex items-center gap-3 border-b border-wait/40 bg-wait-bg px-3 py-1.5 text-wait' },
      h('span', { class: 'shrink-0 rounded-full border border-wait/40 px-2 py-0.5 text-[11px] font-semibold uppercase' }, 'History'),
      heading,
      h('button', { type: 'button', class: `${BUTTON} ml-auto shrink-0`, dataset: { historyBackToLive: '' }, onClick: () => onClose(), signal }, 'Back to the live file'),
    ),
    sides,
    h('div', { class: 'relative min-h-0 flex-1' }, textHost, diffHost),
  );
  frame.append(element);

  const common = {
    automaticLayout: true,
    readOnly: true,
    domReadOnly: true,
    readOnlyMessage: { value: 'This is an old version. Restore it from the History panel to bring it back.' },
    fontSize: 14,
    fontFamily: EDITOR_FONT,
    minimap: { enabled: false },
    scrollBeyondLastLine: false,
    fixedOverflowWidgets: true,
  };
  let textEditor = null;
  let diffEditor = null;
  const owned = new Set(); // models this view created (never the live one)

  function model(text, language) {
    const created = monaco.editor.createModel(text, language || 'plaintext');
    owned.add(created);
    return created;
  }

  function dropModels(keep) {
    for (const m of owned) {
      if (keep.includes(m)) continue;
      m.dispose();
      owned.delete(m);
    }
  }

  let liveListener = null;
  function hide() {
    element.hidden = true;
    liveListener?.dispose();
    liveListener = null;
    textEditor?.setModel(null);
    diffEditor?.setModel(null);
    dropModels([]);
  }

  return {
    element,
    isOpen: () => !element.hidden,
    /** An old version's text, read-only. */
    showText({ title, text, language }) {
      heading.textContent = title;
      element.hidden = false;
      diffHost.hidden = true;
      textHost.hidden = false;
      sides.classList.replace('flex', 'hidden');
      textEditor ??= monaco.editor.create(textHost, { ...common, ariaLabel: 'Old version of the file (read only)' });
      const next = model(text, language);
      textEditor.setModel(next);
      diffEditor?.setModel(null);
      liveListener?.dispose();
      liveListener = null;
      dropModels([next]);
    },
    /** A diff: `original` is a text, `modified` a text or the live model itself. */
    showDiff({ title, original, modified, language, leftLabel, rightLabel }) {
      heading.textContent = title;
      element.hidden = false;
      textHost.hidden = true;
      diffHost.hidden = false;
      sides.replaceChildren(h('span', null, leftLabel), h('span', null, rightLabel));
      sides.classList.replace('hidden', 'flex');
      diffEditor ??= monaco.editor.createDiffEditor(diffHost, {
        ...common,
        originalEditable: false,
        renderSideBySide: window.matchMedia('(min-width: 768px)').matches,
        useInlineViewWhenSpaceIsLimited: false,
        ariaLabel: 'Differences between versions (read only)',
      });
      const left = model(original, language);
      const right = typeof modified === 'string' ? model(modified, language) : modified;
      liveListener?.dispose();
      // The live model goes away with its tab: let go of it first.
      liveListener = right === modified && typeof modified !== 'string' ? right.onWillDispose(() => hide()) : null;
      diffEditor.updateOptions({ originalAriaLabel: `${leftLabel} (read only)`, modifiedAriaLabel: `${rightLabel} (read only)` });
      diffEditor.setModel({ original: left, modified: right });
      textEditor?.setModel(null);
      dropModels([left, right]);
    },
    hide,
    focus() {
      (diffHost.hidden ? textEditor : diffEditor?.getModifiedEditor())?.focus();
    },
    dispose() {
      liveListener?.dispose();
      textEditor?.dispose();
      diffEditor?.dispose();
      dropModels([]);
      element.remove();
    },
  };
}
