// The assistant's side panel: the conversation (answers streamed from POST /api/ai/chat and
// rendered as sanitised Markdown), quick actions on the editor's selection, and per code
// block "Insert at cursor", "Replace selection" and "Show as diff". When the assistant is
// off, the panel says why and how to turn it on, in the server's words.

import { ApiError, messageOf } from '../api/api-error.js';
import { h, replaceChildren } from '../dom.js';
import { notice } from '../ui/notice.js';
import { spinner } from '../ui/spinner.js';
import { streamChat } from './assistant-api.js';
import { codeBlocks, renderMarkdown } from './markdown.js';
import { QUICK_ACTIONS, historyFor } from './prompts.js';

const BUTTON =
  'rounded-md border border-line bg-surface px-2 py-1 text-xs font-medium text-fg hover:bg-subtle disabled:cursor-not-allowed disabled:opacity-50';
const PRIMARY =
  'rounded-md bg-accent px-3 py-1.5 text-sm font-semibold text-on-accent hover:bg-accent-strong disabled:cursor-not-allowed disabled:opacity-50';
const ICON_BUTTON = 'rounded-sm px-1.5 py-0.5 text-sm text-muted hover:bg-subtle hover:text-fg';
const MARKDOWN =
  'min-w-0 text-sm leading-relaxed break-words [&_a]:text-accent [&_a]:underline [&_blockquote]:my-2 [&_blockquote]:border-l-2 ' +
  '[&_blockquote]:border-line [&_blockquote]:pl-3 [&_blockquote]:text-muted [&_code]:font-mono [&_code]:text-[0.85em] ' +
  '[&_:not(pre)>code]:rounded-sm [&_:not(pre)>code]:bg-subtle [&_:not(pre)>code]:px-1 [&_h1]:mt-3 [&_h1]:mb-1 [&_h1]:text-base ' +
  '[&_h1]:font-semibold [&_h2]:mt-3 [&_h2]:mb-1 [&_h2]:font-semibold [&_h3]:mt-2 [&_h3]:font-semibold [&_h4]:font-semibold ' +
  '[&_hr]:my-3 [&_hr]:border-line [&_li]:my-0.5 [&_ol]:my-2 [&_ol]:list-decimal [&_ol]:pl-5 [&_p]:my-2 [&_pre]:overflow-x-auto ' +
  '[&_pre]:rounded-md [&_pre]:border [&_pre]:border-line [&_pre]:bg-canvas [&_pre]:p-2 [&_pre]:font-mono [&_pre]:text-xs ' +
  '[&_pre]:leading-normal [&_table]:my-2 [&_table]:block [&_table]:overflow-x-auto [&_td]:border [&_td]:border-line [&_td]:px-2 ' +
  '[&_th]:border [&_th]:border-line [&_th]:px-2 [&_th]:text-left [&_ul]:my-2 [&_ul]:list-disc [&_ul]:pl-5 [&>:first-child]:mt-0 [&>:last-child]:mb-0';
const MAX_INPUT_CHARS = 8000;

function lines(selection) {
  return selection.start_line === selection.end_line
    ? `line ${selection.start_line}`
    : `lines ${selection.start_line}–${selection.end_line}`;
}

/** Text with `backticked` parts as <code> (commands in the server's how-to-enable hint). */
function withCode(text) {
  return text
    .split(/(`[^`\n]{1,200}`)/)
    .map((part) =>
      /^`[^`]+`$/.test(part) ? h('code', { class: 'rounded-sm bg-surface px-1 font-mono text-xs' }, part.slice(1, -1)) : part,
    );
}

function contextLabel(context) {
  if (!context?.path) return '';
  return context.selection ? `${context.path}, ${lines(context.selection)}` : context.path;
}

/**
 * @param {object} options
 * @param {AbortSignal} options.signal
 * @param {string} options.workspaceId
 * @param {() => boolean} options.canEdit  false for a viewer: answers only, nothing is applied
 * @param {string} options.shortcutLabel  e.g. "Ctrl+Shift+Y"
 * @param {() => object|null} options.getContext  active file, selection, tracked range, open tabs
 * @param {{insert: Function, replace: Function, diff: Function}} options.codeActions
 * @param {() => void} options.onAssistantOff  the server said it is off (refresh the status)
 * @param {() => void} options.onRetryStatus
 * @param {(open: boolean) => void} options.onToggle
 */
export function createChatPanel({ signal, workspaceId, canEdit, shortcutLabel, getContext, codeActions, onAssistantOff, onRetryStatus, onToggle }) {
  /** [{role, content, state, context, item, body}] */
  const messages = [];
  let status = null; // null while loading, else {enabled, …} or {error}
  let streaming = null; // AbortController of the answer being streamed

  const modelLine = h('p', { class: 'truncate text-xs text-muted', dataset: { assistantModel: '' } }, '');
  const statusBox = h('div', { class: 'px-3 pt-3 empty:hidden', dataset: { assistantStatus: 'loading' } });
  const feedback = h('div', { class: 'px-3 empty:hidden', role: 'status', dataset: { assistantFeedback: '' } });
  const emptyText = h(
    'li',
    { class: 'px-1 py-6 text-center text-sm text-muted', dataset: { assistantEmpty: '' } },
    'Ask about the open file, or select code in the editor and pick an action below.',
  );
  const log = h(
    'ol',
    { class: 'flex min-h-0 flex-1 flex-col gap-3 overflow-y-auto px-3 py-3', role: 'log', 'aria-label': 'Conversation', dataset: { assistantMessages: '' } },
    emptyText,
  );

  const selectionLine = h('p', { class: 'truncate text-xs text-muted', dataset: { assistantSelection: '' } }, '');
  const quickButtons = Object.entries(QUICK_ACTIONS).map(([kind, action]) =>
    h('button', { type: 'button', class: BUTTON, dataset: { quickAction: kind }, onClick: () => quickAction(kind), signal }, action.label),
  );
  const quickBar = h(
    'div',
    { class: 'flex flex-col gap-1.5 border-t border-line px-3 py-2', role: 'group', 'aria-label': 'Actions on the selection' },
    selectionLine,
    h('div', { class: 'flex flex-wrap gap-1.5' }, quickButtons),
  );

  const input = h('textarea', {
    id: 'assistant-input',
    rows: '3',
    maxlength: String(MAX_INPUT_CHARS),
    placeholder: 'Ask the assistant…',
    class: 'block w-full resize-none rounded-md border border-line bg-surface px-2.5 py-2 text-sm text-fg placeholder:text-muted disabled:cursor-not-allowed disabled:bg-subtle',
    dataset: { assistantInput: '' },
  });
  const sendButton = h('button', { type: 'submit', class: PRIMARY, dataset: { assistantSend: '' } }, 'Send');
  const stopButton = h(
    'button',
    {
      type: 'button',
      class: 'rounded-md border border-bad/50 bg-surface px-3 py-1.5 text-sm font-semibold text-bad hover:bg-bad-bg',
      dataset: { assistantStop: '' },
      hidden: true,
      onClick: () => {
        streaming?.abort();
        input.focus(); // the Stop button hides itself: keep the focus in the panel
      },
      signal,
    },
    'Stop',
  );
  const form = h(
    'form',
    { class: 'flex flex-col gap-2 border-t border-line px-3 py-3', dataset: { assistantForm: '' } },
    h('label', { for: 'assistant-input', class: 'sr-only' }, 'Message to the assistant'),
    input,
    h(
      'div',
      { class: 'flex items-center gap-2' },
      h('p', { class: 'mr-auto text-[11px] text-muted' }, 'Enter sends, Shift+Enter adds a line.'),
      stopButton,
      sendButton,
    ),
  );
  form.addEventListener(
    'submit',
    (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text || streaming || !status?.enabled) return;
      input.value = '';
      ask(text);
    },
    { signal },
  );
  input.addEventListener(
    'keydown',
    (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    },
    { signal },
  );

  const element = h(
    'aside',
    {
      id: 'assistant-panel',
      // Beside the editor; over it on narrow screens, where there is no room for both.
      class:
        'flex min-h-0 w-80 shrink-0 flex-col border-l border-line bg-surface text-fg max-md:fixed max-md:inset-y-0 max-md:right-0 max-md:z-40 max-md:w-full max-md:max-w-sm max-md:shadow-xl lg:w-96',
      'aria-labelledby': 'assistant-heading',
      hidden: true,
      dataset: { assistantPanel: '' },
      onKeydown: (event) => {
        if (event.key === 'Escape' && !event.defaultPrevented) {
          event.preventDefault();
          if (streaming) streaming.abort();
          else close({ focusEditor: true });
        }
      },
      signal,
    },
    h(
      'header',
      { class: 'flex items-start gap-2 border-b border-line px-3 py-2' },
      h('div', { class: 'min-w-0 flex-1' }, h('h2', { id: 'assistant-heading', class: 'text-sm font-semibold', tabindex: '-1' }, 'Assistant'), modelLine),
      h(
        'button',
        { type: 'button', class: ICON_BUTTON, title: 'Start a new conversation', dataset: { assistantNew: '' }, onClick: () => newChat(), signal },
        'New chat',
      ),
      h(
        'button',
        {
          type: 'button',
          class: ICON_BUTTON,
          'aria-label': 'Close the assistant',
          title: `Close (${shortcutLabel})`,
          onClick: () => close({ focusEditor: true }),
          signal,
        },
        '×',
      ),
    ),
    statusBox,
    log,
    feedback,
    quickBar,
    form,
  );

  // State --------------------------------------------------------------------------
  function canAsk() {
    return Boolean(status?.enabled) && !streaming;
  }

  function refreshControls() {
    const context = getContext();
    const hasSelection = Boolean(context?.selection);
    selectionLine.textContent = hasSelection
      ? `Selection: ${contextLabel(context)}`
      : context?.path
        ? 'Select code in the editor to explain, fix, test or refactor it.'
        : 'Open a file to ask about its code.';
    for (const button of quickButtons) button.disabled = !hasSelection || !canAsk();
    input.disabled = !status?.enabled;
    input.placeholder = status?.enabled ? 'Ask the assistant…' : 'The assistant is not available.';
    emptyText.hidden = !status?.enabled;
    sendButton.disabled = !canAsk();
    sendButton.hidden = Boolean(streaming);
    stopButton.hidden = !streaming;
    const editable = canEdit();
    for (const button of element.querySelectorAll('[data-code-action]')) {
      // A viewer may still look at the diff (read-only); nothing else.
      const allowed = editable || button.dataset.codeAction === 'diff';
      button.disabled = !allowed;
      button.title = allowed ? button.dataset.title : 'You can only read this workspace';
    }
  }

  function setStatus(next) {
    status = next;
    if (!next) {
      statusBox.dataset.assistantStatus = 'loading';
      replaceChildren(statusBox, h('p', { class: 'flex items-center gap-2 text-sm text-muted' }, spinner(), 'Checking the assistant…'));
      modelLine.textContent = '';
    } else if (next.error) {
      statusBox.dataset.assistantStatus = 'error';
      replaceChildren(
        statusBox,
        notice(
          'error',
          h('p', null, `The assistant’s status could not be checked: ${next.error}`),
          h('button', { type: 'button', class: `${BUTTON} mt-2`, onClick: () => onRetryStatus(), signal }, 'Try again'),
        ),
      );
      modelLine.textContent = '';
    } else if (!next.enabled) {
      statusBox.dataset.assistantStatus = 'off';
      replaceChildren(
        statusBox,
        notice(
          'warning',
          h('h3', { class: 'font-semibold' }, 'The assistant is off'),
          h('p', { class: 'mt-1', dataset: { assistantReason: '' } }, next.reason ?? 'It is not available here.'),
          next.howToEnable &&
            h(
              'div',
              { class: 'mt-2' },
              h('p', { class: 'font-medium' }, 'How to turn it on'),
              h('p', { class: 'mt-1 text-fg', dataset: { assistantHowTo: '' } }, withCode(next.howToEnable)),
            ),
        ),
      );
      modelLine.textContent = 'Off';
    } else {
      statusBox.dataset.assistantStatus = 'on';
      statusBox.replaceChildren();
      const models = [next.chatModel, next.provider].filter(Boolean);
      modelLine.textContent = models.length ? models.join(' · ') : 'On';
    }
    if (next?.enabled && !canEdit() && !statusBox.childElementCount) {
      statusBox.append(notice('info', 'You can read this workspace only: answers cannot be applied to its files.'));
    }
    refreshControls();
  }

  function say(kind, text) {
    if (!text) {
      feedback.replaceChildren();
      return;
    }
    replaceChildren(feedback, h('div', { class: 'pb-2' }, notice(kind, text)));
  }

  function scrollToEnd(force = false) {
    const nearEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    if (force || nearEnd) log.scrollTop = log.scrollHeight;
  }

  // Messages -----------------------------------------------------------------------
  function addUserMessage(content, shown, context) {
    emptyText.remove();
    const label = contextLabel(context);
    const item = h(
      'li',
      { class: 'ml-6 rounded-lg bg-subtle px-3 py-2', dataset: { messageRole: 'user' } },
      h('p', { class: 'sr-only' }, 'You:'),
      h('p', { class: 'text-sm whitespace-pre-wrap break-words' }, shown),
      label && h('p', { class: 'mt-1 truncate text-[11px] text-muted', title: label }, label),
    );
    log.append(item);
    messages.push({ role: 'user', content, state: 'done', context, item });
    scrollToEnd(true);
  }

  function addAssistantMessage(context) {
    const body = h('div', { class: MARKDOWN, dataset: { messageBody: '' } });
    const waiting = h('p', { class: 'flex items-center gap-2 text-sm text-muted' }, spinner(), 'Thinking…');
    const footer = h('div', { class: 'empty:hidden' });
    const item = h(
      'li',
      { class: 'mr-2', dataset: { messageRole: 'assistant', messageState: 'streaming' }, 'aria-busy': 'true' },
      h('p', { class: 'mb-1 text-[11px] font-semibold tracking-wide text-muted uppercase' }, 'Assistant'),
      waiting,
      body,
      footer,
    );
    log.append(item);
    const message = { role: 'assistant', content: '', state: 'streaming', context, item, body, footer, waiting, frame: 0 };
    messages.push(message);
    scrollToEnd(true);
    return message;
  }

  function renderBody(message) {
    message.frame = 0;
    message.waiting.hidden = Boolean(message.content) || message.state !== 'streaming';
    message.body.replaceChildren(renderMarkdown(message.content));
    if (message.state !== 'streaming') decorateCodeBlocks(message);
    scrollToEnd();
  }

  function scheduleRender(message) {
    if (!message.frame) message.frame = requestAnimationFrame(() => renderBody(message));
  }

  function finish(message, state, problem) {
    cancelAnimationFrame(message.frame);
    message.state = state;
    message.item.dataset.messageState = state;
    message.item.removeAttribute('aria-busy');
    renderBody(message);
    if (state === 'stopped') {
      message.footer.replaceChildren(h('p', { class: 'mt-1 text-xs text-muted' }, 'Stopped.'));
    } else if (state === 'error') {
      message.footer.replaceChildren(h('div', { class: 'mt-1', role: 'alert' }, notice('error', problem)));
    } else if (state === 'length') {
      message.footer.replaceChildren(h('p', { class: 'mt-1 text-xs text-muted' }, 'The answer was cut at its length limit.'));
    }
  }

  function decorateCodeBlocks(message) {
    for (const { pre, code, language } of codeBlocks(message.body)) {
      const button = (action, label, title) =>
        h(
          'button',
          {
            type: 'button',
            class: BUTTON,
            title,
            dataset: { codeAction: action, title },
            onClick: () => runCodeAction(action, code, language, message),
            signal,
          },
          label,
        );
      const figure = h('figure', { class: 'my-2', dataset: { codeBlock: '' } });
      pre.replaceWith(figure);
      pre.classList.add('my-0');
      figure.append(
        pre,
        h(
          'div',
          { class: 'mt-1 flex flex-wrap items-center gap-1', role: 'group', 'aria-label': 'Use this code' },
          language && h('span', { class: 'mr-auto font-mono text-[11px] text-muted' }, language),
          button('insert', 'Insert at cursor', 'Insert this code where the cursor is'),
          button('replace', 'Replace selection', 'Replace the code you asked about with this'),
          button('diff', 'Show as diff', 'Compare with the code in the file before applying'),
        ),
      );
    }
    refreshControls();
  }

  async function runCodeAction(action, code, language, message) {
    say(null);
    try {
      const target = message.context?.target ?? null;
      const result =
        action === 'insert'
          ? await codeActions.insert(code)
          : action === 'replace'
            ? await codeActions.replace(code, target)
            : await codeActions.diff(code, target, language);
      if (result?.message) say(result.ok ? 'success' : 'warning', result.message);
    } catch (error) {
      say('error', messageOf(error));
      if (!(error instanceof ApiError)) reportError(error); // a bug: let it show in the console
    }
  }

  // Asking -------------------------------------------------------------------------
  async function ask(content, shown = content) {
    if (!canAsk()) return;
    say(null);
    const context = getContext({ track: true });
    const history = historyFor(messages);
    addUserMessage(content, shown, context);
    const message = addAssistantMessage(context);
    const controller = new AbortController();
    streaming = controller;
    refreshControls();
    const stopOnLeave = () => controller.abort();
    signal.addEventListener('abort', stopOnLeave, { once: true });
    const body = {
      workspace_id: workspaceId,
      messages: [...history, { role: 'user', content }],
      context: {},
    };
    if (context?.fileId) body.context.file_id = context.fileId;
    if (context?.selection) body.context.selection = context.selection;
    if (context?.openFiles?.length) body.context.open_files = context.openFiles;
    try {
      const reason = await streamChat(body, {
        signal: controller.signal,
        onDelta(text) {
          message.content += text;
          scheduleRender(message);
        },
      });
      finish(message, reason === 'length' ? 'length' : 'done');
    } catch (error) {
      if (controller.signal.aborted) finish(message, 'stopped');
      else {
        finish(message, 'error', messageOf(error));
        if (error?.code === 'assistant_off') onAssistantOff();
        if (!(error instanceof ApiError)) reportError(error);
      }
    } finally {
      signal.removeEventListener('abort', stopOnLeave);
      if (streaming === controller) streaming = null;
      refreshControls();
    }
  }

  function quickAction(kind) {
    const action = QUICK_ACTIONS[kind];
    if (!action) return;
    open({ focus: false });
    const context = getContext();
    if (!context?.selection) {
      say('info', 'Select some code in the editor first.');
      return;
    }
    if (!status?.enabled) return;
    if (streaming) {
      say('info', 'Wait for the current answer, or stop it first.');
      return;
    }
    ask(action.prompt, action.label);
  }

  function newChat() {
    streaming?.abort();
    messages.length = 0;
    log.replaceChildren(emptyText);
    say(null);
    refreshControls();
    input.focus();
  }

  // Open and close -----------------------------------------------------------------
  function isOpen() {
    return !element.hidden;
  }

  function open({ focus = true } = {}) {
    const wasOpen = isOpen();
    element.hidden = false;
    refreshControls();
    if (!wasOpen) onToggle(true);
    if (focus) (input.disabled ? element.querySelector('#assistant-heading') : input).focus();
  }

  function close({ focusEditor = false } = {}) {
    if (!isOpen()) return;
    element.hidden = true;
    onToggle(false, { focusEditor });
  }

  setStatus(null);
  signal.addEventListener('abort', () => streaming?.abort(), { once: true });

  return {
    element,
    isOpen,
    open,
    close,
    toggle: () => (isOpen() ? close({ focusEditor: true }) : open()),
    setStatus,
    quickAction,
    refreshControls,
    say,
  };
}
