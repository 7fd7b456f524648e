// Links into a file from elsewhere (a message's code reference, docs/chat.md):
//   /w/{workspace}/f/{file}?range=START-END  opens the file with characters [START, END) selected
//   /w/{workspace}/f/{file}?version=N        opens the file's history at version N
// Offsets count characters (code points), as the server does. The query is removed once used,
// so switching tabs or reloading does not apply it again.

import { utf16Offset } from '../history/history-api.js';

/** What the page's address asks for, or null. */
export function readCodeLink(search = window.location.search) {
  const params = new URLSearchParams(search);
  const range = /^(\d{1,10})-(\d{1,10})$/.exec(params.get('range') ?? '');
  const version = /^\d{1,15}$/.test(params.get('version') ?? '') ? Number(params.get('version')) : null;
  if (range && Number(range[1]) <= Number(range[2])) return { range: { start: Number(range[1]), end: Number(range[2]) }, version: null };
  if (version != null && version > 0) return { range: null, version };
  return null;
}

function forgetQuery() {
  const url = new URL(window.location.href);
  url.searchParams.delete('range');
  url.searchParams.delete('version');
  history.replaceState(history.state, '', url.pathname + url.search + url.hash);
}

/**
 * Apply the address's link to the file just opened.
 * @param {object} options
 * @param {object} options.monaco
 * @param {object} options.editor
 * @param {object} options.model  the opened file's model (its text arrives when it syncs)
 * @param {(version: number) => void} options.showVersion  opens the history at a version
 * @param {AbortSignal} options.signal
 * @param {number} [options.timeoutMs]  how long to wait for the text
 */
export function applyCodeLink({ monaco, editor, model, showVersion, signal, timeoutMs = 20000 }) {
  const link = readCodeLink();
  if (!link) return;
  forgetQuery();
  if (link.version != null) {
    showVersion(link.version);
    return;
  }
  const { start, end } = link.range;
  /** True once the text holds the range (or there is nothing left to do). */
  const holdsRange = () => {
    if (signal.aborted || model.isDisposed()) return true;
    const text = model.getValue();
    return text.length > 0 && [...text].length >= end;
  };
  const select = () => {
    // After the editor has put back the file's last cursor place (also a zero-delay task).
    setTimeout(() => {
      if (signal.aborted || model.isDisposed() || editor.getModel() !== model) return;
      const text = model.getValue();
      const from = model.getPositionAt(utf16Offset(text, start));
      const to = model.getPositionAt(utf16Offset(text, end));
      const range = new monaco.Range(from.lineNumber, from.column, to.lineNumber, to.column);
      editor.setSelection(range);
      editor.revealRangeInCenter(range);
      editor.focus();
    }, 0);
  };
  if (holdsRange()) {
    select();
    return;
  }
  // The text arrives when the document syncs: select once it holds the range.
  const listener = model.onDidChangeContent(() => {
    if (!holdsRange()) return;
    stop();
    select();
  });
  const timer = setTimeout(() => stop(), timeoutMs);
  const stop = () => {
    listener.dispose();
    clearTimeout(timer);
  };
  signal.addEventListener('abort', stop, { once: true });
}

/**
 * Apply the address's link when the file in the address (`fileId`) first shows in the editor.
 * @param {object} options  as for applyCodeLink, with `fileId`, `activeFileId()` and `modelOf(fileId)`
 */
export function attachCodeLink({ monaco, editor, fileId, activeFileId, modelOf, showVersion, signal }) {
  if (!fileId || !readCodeLink()) return;
  const listener = editor.onDidChangeModel(() => {
    const model = modelOf(fileId);
    if (activeFileId() !== fileId || !model || editor.getModel() !== model) return;
    listener.dispose();
    applyCodeLink({ monaco, editor, model, showVersion, signal });
  });
  signal.addEventListener('abort', () => listener.dispose(), { once: true });
}
