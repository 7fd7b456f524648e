// A code reference waiting to be sent: the editor's "Send selection in a message…" puts it
// here for one conversation, and that conversation's composer shows it as a removable chip.
// Kept in sessionStorage, so it survives the page change (and a reload) but not the tab.

const KEY = 'collabcode.codeRefDraft';

/**
 * @typedef {object} CodeRefDraft
 * @property {string} conversationId
 * @property {{workspace_id: string, file_id: string, start: number, end: number}} ref  what the server gets
 * @property {string} path
 * @property {number} startLine
 * @property {number} endLine
 * @property {string} snippet  the selected text, shown while the message is pending
 */

/** @param {CodeRefDraft} draft */
export function saveCodeRefDraft(draft) {
  try {
    sessionStorage.setItem(KEY, JSON.stringify(draft));
  } catch {
    // storage full or disabled: the reference is simply not carried over
  }
}

/** The draft for `conversationId`, if there is one. @returns {CodeRefDraft|null} */
export function codeRefDraftFor(conversationId) {
  try {
    const draft = JSON.parse(sessionStorage.getItem(KEY) ?? 'null');
    return draft && draft.conversationId === conversationId && draft.ref ? draft : null;
  } catch {
    return null;
  }
}

export function clearCodeRefDraft() {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // nothing to clear
  }
}

/** "lines 3–7", or "line 3". */
export function linesLabel(startLine, endLine) {
  if (startLine == null) return '';
  return endLine != null && endLine !== startLine ? `lines ${startLine}–${endLine}` : `line ${startLine}`;
}
