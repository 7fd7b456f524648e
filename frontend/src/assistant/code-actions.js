// What the code block buttons do: insert at the cursor, replace the range that was asked
// about, or show the change as a diff first. Writes go through shared-edit.js (one undoable
// transaction, marked for everyone); a range that changed since the question opens the
// diff instead of being overwritten.

import { showDiffDialog } from './diff-dialog.js';
import { applyToRange, resolveRange, trackRange } from './shared-edit.js';

/**
 * @param {object} options
 * @param {object} options.monaco
 * @param {object} options.editor
 * @param {() => boolean} options.canEdit  false for a viewer (or when the file is read-only)
 * @param {() => object|null} options.activeFile  {fileId, path, model, session}
 * @param {(fileId: string) => object|null} options.fileById  an open file
 */
/**
 * Code blocks end with a newline; a selection often does not (it stops at the end of its
 * last line). Keep the line structure around the range as it is.
 */
export function fitToRange(code, original) {
  return code.endsWith('\n') && !original.endsWith('\n') ? code.slice(0, -1) : code;
}

export function createCodeActions({ monaco, editor, canEdit, activeFile, fileById }) {
  const refuse = (message) => ({ ok: false, message });

  function offsets(file, range) {
    return [file.model.getOffsetAt(range.getStartPosition()), file.model.getOffsetAt(range.getEndPosition())];
  }

  /** The tracked range to write to and the file it is in, or a reason why there is none. */
  function targetFor(target, { allowCursor }) {
    if (target) {
      const file = fileById(target.fileId);
      if (!file) return { problem: `Open ${target.path} again to apply this; the answer was about that file.` };
      return { file, tracked: target.tracked };
    }
    const file = activeFile();
    if (!file || editor.getModel() !== file.model) return { problem: 'Open a file first.' };
    const selection = editor.getSelection();
    if (!selection) return { problem: 'Put the cursor in the file first.' };
    if (selection.isEmpty() && !allowCursor) return { problem: 'Select the code to replace first.' };
    const [from, to] = offsets(file, selection);
    return { file, tracked: trackRange(file.session, from, to) };
  }

  function applied(file) {
    if (editor.getModel() === file.model) editor.focus();
    return { ok: true };
  }

  async function diff(code, target, language, { warning } = {}) {
    const found = targetFor(target, { allowCursor: true });
    if (found.problem) return refuse(found.problem);
    const { file } = found;
    const now = resolveRange(file.session, found.tracked);
    if (!now) return refuse('The code this answer was about is gone from the file.');
    // The dialog compares against the text as it is now; applying checks it is still so.
    let shown = trackRange(file.session, now.from, now.to);
    const done = await showDiffDialog({
      monaco,
      title: `Apply to ${file.path}`,
      language: file.model.getLanguageId() || language,
      original: now.text,
      proposed: fitToRange(code, now.text),
      warning,
      readOnly: !canEdit(),
      onApply(text) {
        if (!canEdit()) return { error: 'You can only read this workspace now.' };
        if (applyToRange(file.session, shown, text)) return { applied: true };
        const latest = resolveRange(file.session, shown);
        if (!latest) return { error: 'These lines are gone from the file.' };
        shown = trackRange(file.session, latest.from, latest.to);
        return { changed: latest.text };
      },
    });
    return done ? applied(file) : { ok: false };
  }

  return {
    async insert(code) {
      if (!canEdit()) return refuse('You can only read this workspace.');
      const file = activeFile();
      const position = editor.getPosition();
      if (!file || !position || editor.getModel() !== file.model) return refuse('Open a file and put the cursor where the code should go.');
      const offset = file.model.getOffsetAt(position);
      applyToRange(file.session, trackRange(file.session, offset, offset), code);
      return applied(file);
    },

    async replace(code, target) {
      if (!canEdit()) return refuse('You can only read this workspace.');
      const found = targetFor(target, { allowCursor: false });
      if (found.problem) return refuse(found.problem);
      if (applyToRange(found.file.session, found.tracked, fitToRange(code, found.tracked.original))) return applied(found.file);
      return diff(code, target, '', {
        warning: 'Someone changed these lines after you asked, so nothing was replaced. Check the change against their version, then apply it if it still fits.',
      });
    },

    diff,
  };
}
