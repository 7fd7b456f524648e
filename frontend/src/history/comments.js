// Code-anchored comments of the active file: a mark in the editor's glyph margin and a tint
// on the range (with the comment on hover), the list in the History panel with resolve and
// reopen, and a form that comments on the editor's selection. The server resolves anchors
// (Yjs relative positions) to code point offsets; Monaco counts UTF-16 units.

import { messageOf } from '../api/api-error.js';
import { h, replaceChildren } from '../dom.js';
import { notice } from '../ui/notice.js';
import { codePointIndex, utf16Offset } from './history-api.js';
import { ago, markdownText, nameOf, timeLabel } from './people.js';

const MAX_BODY = 10000;
const BUTTON = 'rounded-md border border-line bg-surface px-2 py-1 text-xs font-medium text-fg hover:bg-subtle disabled:cursor-not-allowed disabled:opacity-50';
const PRIMARY = 'rounded-md bg-accent px-3 py-1 text-xs font-semibold text-on-accent hover:bg-accent-strong disabled:cursor-not-allowed disabled:opacity-50';

/**
 * @param {object} options
 * @param {object} options.monaco
 * @param {object} options.editor
 * @param {ReturnType<import('./history-api.js').historyApi>} options.api
 * @param {AbortSignal} options.signal
 * @param {() => boolean} options.canResolveAll  writers may resolve anyone's comment
 * @param {() => string|null} options.me  the signed-in user's id
 * @param {(version: number) => void} options.onShowVersion  open the version a deleted anchor came from
 * @param {() => void} options.onCommentsShown  a comment was clicked in the margin: show the panel
 * @param {() => void} options.onChanged  the list changed (the panel shows the number of open ones)
 */
export function createComments({ monaco, editor, api, signal, canResolveAll, me, onShowVersion, onCommentsShown, onChanged }) {
  let file = null; // {fileId, model}
  let comments = [];
  let state = 'idle'; // loading | ready | error
  let loadError = '';
  let generation = 0;
  const decorations = editor.createDecorationsCollection();
  const decorationIds = new Map(); // decoration id -> comment id

  const selectionLine = h('p', { class: 'text-xs text-muted', dataset: { commentSelection: '' } }, '');
  const input = h('textarea', {
    id: 'history-comment-input',
    rows: '2',
    maxlength: String(MAX_BODY),
    placeholder: 'Comment on the selected code…',
    class: 'block w-full resize-y rounded-md border border-line bg-surface px-2 py-1.5 text-sm text-fg placeholder:text-muted',
    dataset: { commentInput: '' },
  });
  const submit = h('button', { type: 'submit', class: PRIMARY, dataset: { commentSubmit: '' } }, 'Comment');
  const formMessage = h('div', { class: 'empty:hidden', role: 'status', dataset: { commentMessage: '' } });
  const form = h(
    'form',
    { class: 'flex flex-col gap-1.5', dataset: { commentForm: '' } },
    h('label', { for: 'history-comment-input', class: 'text-xs font-medium' }, 'New comment'),
    selectionLine,
    input,
    h('div', { class: 'flex items-center justify-end gap-2' }, h('span', { class: 'mr-auto text-[11px] text-muted' }, 'Ctrl+Enter sends'), submit),
    formMessage,
  );
  const list = h('ul', { class: 'flex flex-col gap-2', 'aria-label': 'Comments on this file', dataset: { commentList: '' } });
  const showResolved = h('input', { type: 'checkbox', id: 'history-show-resolved', class: 'accent-accent', onChange: () => render(), signal });
  const element = h(
    'div',
    { class: 'flex flex-col gap-3' },
    form,
    h('label', { for: 'history-show-resolved', class: 'flex items-center gap-2 text-xs text-muted' }, showResolved, 'Show resolved comments'),
    list,
  );

  /** The editor's selection as code point offsets of the model's text, or null. */
  function selectionAnchor() {
    const model = editor.getModel();
    const selection = editor.getSelection();
    if (!file || model !== file.model || !selection || selection.isEmpty()) return null;
    const text = model.getValue();
    const start = codePointIndex(text, model.getOffsetAt(selection.getStartPosition()));
    const end = codePointIndex(text, model.getOffsetAt(selection.getEndPosition()));
    return { anchor: { start, end }, selection };
  }

  function showSelection() {
    const picked = selectionAnchor();
    if (!file) selectionLine.textContent = 'Open a file to comment on it.';
    else if (!picked) selectionLine.textContent = 'Select code in the editor to comment on it.';
    else {
      const { startLineNumber: a, endLineNumber: b } = picked.selection;
      selectionLine.textContent = a === b ? `On line ${a}` : `On lines ${a}–${b}`;
    }
    submit.disabled = !picked;
  }
  const selectionListener = editor.onDidChangeCursorSelection(() => showSelection());
  signal.addEventListener('abort', () => selectionListener.dispose(), { once: true });

  form.addEventListener(
    'submit',
    async (event) => {
      event.preventDefault();
      const body = input.value.trim();
      const picked = selectionAnchor();
      if (!picked) {
        formMessage.replaceChildren(notice('warning', 'Select the code the comment is about first.'));
        return;
      }
      if (!body) {
        formMessage.replaceChildren(notice('warning', 'Write the comment first.'));
        input.focus();
        return;
      }
      submit.disabled = true;
      formMessage.replaceChildren();
      const target = file;
      try {
        const comment = await api.addComment(target.fileId, picked.anchor, body);
        if (file !== target) return;
        input.value = '';
        upsert(comment);
        formMessage.replaceChildren(notice('success', 'Comment added. Everyone in the workspace sees it.'));
      } catch (error) {
        if (!signal.aborted) formMessage.replaceChildren(notice('error', messageOf(error)));
      } finally {
        showSelection();
      }
    },
    { signal },
  );
  input.addEventListener(
    'keydown',
    (event) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      }
    },
    { signal },
  );

  // Clicking a comment mark in the margin opens its entry in the panel.
  const mouseListener = editor.onMouseDown((event) => {
    if (event.target.type !== monaco.editor.MouseTargetType.GUTTER_GLYPH_MARGIN) return;
    const line = event.target.position?.lineNumber;
    const hit = line && decorations.getRanges().findIndex((range) => range.startLineNumber === line);
    if (hit == null || hit < 0) return;
    const id = [...decorationIds.values()][hit];
    onCommentsShown();
    queueMicrotask(() => list.querySelector(`[data-comment-id="${id}"] button`)?.focus());
  });
  signal.addEventListener('abort', () => mouseListener.dispose(), { once: true });

  function rangeOf(comment) {
    const anchor = comment.anchor;
    if (!file || !anchor || anchor.deleted || editor.getModel() !== file.model) return null;
    const text = file.model.getValue();
    const start = file.model.getPositionAt(utf16Offset(text, anchor.start));
    const end = file.model.getPositionAt(utf16Offset(text, anchor.end));
    return new monaco.Range(start.lineNumber, start.column, end.lineNumber, end.column);
  }

  function decorate() {
    decorationIds.clear();
    const open = comments.filter((c) => !c.resolved && !c.anchor?.deleted);
    const items = [];
    const ids = [];
    for (const comment of open) {
      const range = rangeOf(comment);
      if (!range) continue;
      const hover = { value: `**${markdownText(nameOf(comment.author))}** · ${markdownText(ago(comment.created_at))}\n\n${markdownText(comment.body)}` };
      items.push({
        range,
        options: {
          description: 'cc-comment',
          className: 'cc-comment-range',
          glyphMarginClassName: 'cc-comment-glyph',
          glyphMarginHoverMessage: hover,
          hoverMessage: hover,
          stickiness: monaco.editor.TrackedRangeStickiness.NeverGrowsWhenTypingAtEdges,
        },
      });
      ids.push(comment.id);
    }
    if (items.length) editor.updateOptions({ glyphMargin: true });
    const created = decorations.set(items);
    created.forEach((decorationId, i) => decorationIds.set(decorationId, ids[i]));
  }

  async function toggleResolved(comment, button) {
    button.disabled = true;
    try {
      upsert(await api.setResolved(comment.file_id, comment.id, !comment.resolved));
    } catch (error) {
      if (signal.aborted) return;
      button.disabled = false;
      formMessage.replaceChildren(notice('error', messageOf(error)));
    }
  }

  function reveal(comment) {
    const range = rangeOf(comment);
    if (!range) return;
    editor.setSelection(range);
    editor.revealRangeInCenterIfOutsideViewport(range);
    editor.focus();
  }

  function item(comment) {
    const anchor = comment.anchor ?? {};
    const mayResolve = canResolveAll() || comment.author?.id === me();
    const resolveButton = h(
      'button',
      {
        type: 'button',
        class: BUTTON,
        dataset: { commentResolve: comment.resolved ? 'reopen' : 'resolve' },
        disabled: !mayResolve,
        title: mayResolve ? '' : 'Only editors and the comment’s author can resolve it.',
        signal,
      },
      comment.resolved ? 'Reopen' : 'Resolve',
    );
    resolveButton.addEventListener('click', () => toggleResolved(comment, resolveButton), { signal });
    const code = anchor.deleted
      ? h(
          'div',
          { class: 'flex flex-col gap-1 rounded-md border border-bad/40 bg-bad-bg p-2 text-xs text-bad', dataset: { commentDeleted: '' } },
          h('p', null, 'The code this comment was about has been deleted.'),
          anchor.original_snippet ? h('pre', { class: 'max-h-24 overflow-auto font-mono whitespace-pre-wrap text-fg' }, anchor.original_snippet) : null,
          anchor.version
            ? h(
                'button',
                { type: 'button', class: `${BUTTON} self-start`, dataset: { commentShowVersion: String(anchor.version) }, onClick: () => onShowVersion(anchor.version), signal },
                `Show it in version ${anchor.version}`,
              )
            : null,
        )
      : h(
          'button',
          {
            type: 'button',
            class: 'block w-full rounded-md border border-line bg-canvas px-2 py-1 text-left font-mono text-xs whitespace-pre-wrap text-fg hover:border-accent',
            title: 'Show this code in the editor',
            dataset: { commentGoto: '' },
            onClick: () => reveal(comment),
            signal,
          },
          (anchor.snippet ?? '').slice(0, 400) || '(empty range)',
        );
    return h(
      'li',
      {
        class: `flex flex-col gap-1.5 rounded-md border border-line p-2 ${comment.resolved ? 'opacity-70' : ''}`,
        dataset: { commentId: comment.id, commentResolved: String(Boolean(comment.resolved)) },
      },
      h(
        'p',
        { class: 'flex items-baseline gap-2 text-xs' },
        h('span', { class: 'font-semibold text-fg' }, nameOf(comment.author)),
        h('time', { class: 'text-muted', title: timeLabel(comment.created_at) }, ago(comment.created_at)),
        comment.resolved ? h('span', { class: 'ml-auto rounded-full bg-ok-bg px-1.5 text-[11px] font-medium text-ok' }, 'Resolved') : null,
      ),
      code,
      h('p', { class: 'text-sm break-words whitespace-pre-wrap', dataset: { commentBody: '' } }, comment.body),
      h('div', { class: 'flex justify-end' }, resolveButton),
    );
  }

  function render() {
    decorate();
    onChanged();
    const shown = comments.filter((c) => showResolved.checked || !c.resolved);
    if (state === 'loading' && !comments.length) replaceChildren(list, h('li', { class: 'text-xs text-muted', role: 'status' }, 'Loading comments…'));
    else if (state === 'error') replaceChildren(list, h('li', null, notice('error', `The comments could not be loaded: ${loadError}`)));
    else if (!shown.length) {
      const resolved = comments.length - shown.length;
      replaceChildren(
        list,
        h('li', { class: 'text-xs text-muted', dataset: { commentsEmpty: '' } }, resolved ? `No open comments (${resolved} resolved).` : 'No comments on this file yet.'),
      );
    } else replaceChildren(list, shown.map(item));
  }

  function upsert(comment) {
    if (!file || comment?.file_id !== file.fileId) return;
    const index = comments.findIndex((c) => c.id === comment.id);
    if (index >= 0) comments[index] = comment;
    else comments.push(comment);
    comments.sort((a, b) => a.created_at - b.created_at);
    render();
  }

  async function reload() {
    const target = file;
    const mine = ++generation;
    if (!target) return;
    state = 'loading';
    render();
    try {
      const data = await api.comments(target.fileId);
      if (mine !== generation) return;
      comments = Array.isArray(data?.comments) ? data.comments : [];
      state = 'ready';
    } catch (error) {
      if (mine !== generation || signal.aborted) return;
      state = 'error';
      loadError = messageOf(error);
    }
    render();
  }

  return {
    element,
    count: () => comments.filter((c) => !c.resolved).length,
    setFile(next) {
      file = next;
      comments = [];
      decorations.clear();
      showSelection();
      if (file) reload();
      else {
        state = 'idle';
        replaceChildren(list, h('li', { class: 'text-xs text-muted' }, 'Open a file to see its comments.'));
      }
    },
    reload,
    upsert,
    /** Re-place the marks (the file's text arrived, or the model came back into the editor). */
    redecorate: () => decorate(),
    focusInput() {
      showSelection();
      input.focus();
    },
  };
}
