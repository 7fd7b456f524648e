// Ghost-text completions in the workspace editor: a Monaco inline completions provider
// backed by POST /api/ai/complete. Monaco waits `debounceDelayMs` after the last keystroke
// before asking, and cancels the request's token when the user keeps typing; the token
// aborts the fetch. Tab accepts, Escape dismisses, Ctrl/Cmd+Right accepts the next word
// (Monaco's own inline-suggest commands and keybindings).

import { requestCompletion } from './assistant-api.js';

const DEBOUNCE_MS = 300;
// Windows around the cursor; the server trims them again to the model's context.
const PREFIX_CHARS = 4000;
const SUFFIX_CHARS = 1500;
// Remote edits change the model too: only ask after the user's own keystrokes.
const TYPED_RECENTLY_MS = 2000;
const ERROR_BACKOFF_MS = 5000;

/**
 * The text before and after the cursor, each cut to a window that starts/ends at a line
 * boundary (without reading the whole document: files can be large).
 */
export function windowsAround(model, position) {
  const offset = model.getOffsetAt(position);
  const from = model.getPositionAt(Math.max(0, offset - PREFIX_CHARS));
  const to = model.getPositionAt(offset + SUFFIX_CHARS);
  let prefix = model.getValueInRange({ startLineNumber: from.lineNumber, startColumn: from.column, endLineNumber: position.lineNumber, endColumn: position.column });
  let suffix = model.getValueInRange({ startLineNumber: position.lineNumber, startColumn: position.column, endLineNumber: to.lineNumber, endColumn: to.column });
  if (from.column > 1 && from.lineNumber < position.lineNumber) prefix = prefix.slice(prefix.indexOf('\n') + 1);
  const end = model.getLineMaxColumn(to.lineNumber);
  if (to.column < end && to.lineNumber > position.lineNumber) suffix = suffix.slice(0, suffix.lastIndexOf('\n'));
  return { prefix, suffix };
}

/** Trim a completion so Monaco can show it: one line when the cursor is mid-line. */
export function shapeCompletion(completion, restOfLine) {
  let text = completion.replace(/\r\n?/g, '\n');
  if (restOfLine.trim() && text.includes('\n')) text = text.slice(0, text.indexOf('\n'));
  return text.trim() ? text : '';
}

/**
 * @param {object} options
 * @param {object} options.monaco
 * @param {object} options.editor
 * @param {string} options.workspaceId
 * @param {() => boolean} options.enabled  the assistant is on for this workspace
 * @param {(model: object) => ({fileId: string}|null)} options.fileFor  null: not one of ours
 * @param {() => void} options.onAssistantOff  the server says it is off
 * @param {(message: string|null) => void} options.onProblem  a failure to show, or null once it works
 * @param {AbortSignal} options.signal
 */
export function registerGhostText({ monaco, editor, workspaceId, enabled, fileFor, onAssistantOff, onProblem, signal }) {
  let lastTyped = 0;
  let pausedUntil = 0;
  let inflight = null;
  const refused = new Set(); // file ids the server will not complete in

  editor.updateOptions({ inlineSuggest: { enabled: true } });
  const keys = editor.onKeyDown(() => {
    lastTyped = performance.now();
  });

  const provider = monaco.languages.registerInlineCompletionsProvider(
    '*',
    {
      debounceDelayMs: DEBOUNCE_MS,
      displayName: 'collabcode assistant',
      async provideInlineCompletions(model, position, context, token) {
        const none = { items: [] };
        if (!enabled() || signal.aborted || model !== editor.getModel() || !editor.hasTextFocus()) return none;
        const file = fileFor(model);
        if (!file) return none;
        const automatic = context.triggerKind === monaco.languages.InlineCompletionTriggerKind.Automatic;
        if (automatic && performance.now() - lastTyped > TYPED_RECENTLY_MS) return none;
        if (Date.now() < pausedUntil || refused.has(file.fileId)) return none;

        const { prefix, suffix } = windowsAround(model, position);
        const restOfLine = model.getLineContent(position.lineNumber).slice(position.column - 1);

        inflight?.abort();
        const controller = new AbortController();
        inflight = controller;
        const listener = token.onCancellationRequested(() => controller.abort());
        const stop = () => controller.abort();
        signal.addEventListener('abort', stop, { once: true });
        try {
          const completion = await requestCompletion(
            {
              workspace_id: workspaceId,
              file_id: file.fileId,
              language: model.getLanguageId(),
              prefix,
              suffix,
              cursor: { line: position.lineNumber, column: position.column },
            },
            { signal: controller.signal },
          );
          onProblem(null);
          if (token.isCancellationRequested || model.isDisposed()) return none;
          const text = shapeCompletion(completion, restOfLine);
          if (!text) return none;
          const at = new monaco.Range(position.lineNumber, position.column, position.lineNumber, position.column);
          return { items: [{ insertText: text, range: at }] };
        } catch (error) {
          if (controller.signal.aborted || error?.name === 'AbortError') return none;
          if (error?.status === 409) return none; // a newer request of ours replaced it
          if (error?.status === 403 || error?.status === 404) {
            // A file that looks like it holds secrets, or one we cannot read: never ask again.
            refused.add(file.fileId);
            onProblem(error.message);
          } else if (error?.code === 'assistant_off') {
            onAssistantOff();
          } else if (error?.status === 429) {
            pausedUntil = Date.now() + Math.max(1, error.retryAfter || 5) * 1000;
            onProblem('Completions are paused for a moment: you reached the request limit.');
          } else {
            pausedUntil = Date.now() + ERROR_BACKOFF_MS;
            onProblem(error?.message || 'Completions are not working right now.');
          }
          return none;
        } finally {
          listener.dispose();
          signal.removeEventListener('abort', stop);
          if (inflight === controller) inflight = null;
        }
      },
      disposeInlineCompletions() {},
    },
  );

  signal.addEventListener(
    'abort',
    () => {
      inflight?.abort();
      provider.dispose();
      keys.dispose();
    },
    { once: true },
  );
}
