// The History panel of the workspace editor (loaded on demand by attach-history.js): the
// active file's versions on a timeline and a slider, the version view and the diff, restore
// and checkpoints for editors, who wrote each line, the comments on the code and who
// contributed. Everything comes from the history API (docs/history.md); restores reach the
// open editors through the collaboration socket like any edit.

import { messageOf } from '../api/api-error.js';
import { getSession } from '../auth/session.js';
import { h, replaceChildren } from '../dom.js';
import { notice } from '../ui/notice.js';
import { askText, confirmDanger } from '../workspace/dialogs.js';
import { createAuthorship } from './authorship.js';
import { createComments } from './comments.js';
import { createContributors } from './contributors.js';
import { historyApi } from './history-api.js';
import { authorsLabel, createPersonColors, timeLabel } from './people.js';
import { createVersionOverlay } from './version-overlay.js';

const PAGE = 50;
const TEXT_CACHE = 20;
const SCRUB_DELAY_MS = 120;
const BUTTON = 'rounded-md border border-line bg-surface px-2 py-1 text-xs font-medium text-fg hover:bg-subtle disabled:cursor-not-allowed disabled:opacity-50';
const DANGER = 'rounded-md border border-bad/50 bg-surface px-2 py-1 text-xs font-semibold text-bad hover:bg-bad-bg disabled:cursor-not-allowed disabled:opacity-50';
const ICON_BUTTON = 'rounded-sm px-1.5 py-0.5 text-sm text-muted hover:bg-subtle hover:text-fg';
const SECTION = 'flex flex-col gap-2 border-b border-line px-3 py-3';
const HEADING = 'text-xs font-semibold tracking-wide text-muted uppercase';
const READ_ONLY_REASON = 'Only editors can restore versions or add checkpoints: you are a viewer in this workspace.';

function checkpointLabel(checkpoint) {
  return checkpoint.name ?? (checkpoint.automatic ? 'automatic checkpoint' : 'checkpoint');
}

export function startHistory({ monaco, editor, frame, workspaceId, canEdit, signal, activeFileId, openFiles, slot, button, shortcutLabel }) {
  const api = historyApi(workspaceId, signal);
  const colors = createPersonColors(signal);
  const me = () => getSession().user?.id ?? null;
  const writable = () => canEdit() && !editor.getOption(monaco.editor.EditorOption.readOnly);

  let file = null; // {fileId, path, model}
  let versions = []; // newest first
  let nextBefore = null;
  let timelineState = 'idle'; // loading | ready | error
  let timelineError = '';
  let selected = null; // a version number, or null for the live file
  let compare = null; // null, 'live', or a version number
  let authorshipOn = false;
  let generation = 0;
  const texts = new Map(); // version -> text (a few, most recent last)

  // Parts -------------------------------------------------------------------------------
  const overlay = createVersionOverlay({ monaco, frame, signal, onClose: () => backToLive({ focusEditor: true }) });
  const authorship = createAuthorship({ monaco, editor, colors });
  const comments = createComments({
    monaco,
    editor,
    api,
    signal,
    canResolveAll: () => writable(),
    me,
    onShowVersion: (version) => {
      open();
      select(version);
    },
    onCommentsShown: () => {
      open();
      commentsSection.open = true;
    },
    onChanged: () => updateControls(),
  });
  const contributors = createContributors({ api, signal, colors });

  // Panel -------------------------------------------------------------------------------
  const fileLine = h('p', { class: 'truncate text-xs text-muted', dataset: { historyFile: '' } }, '');
  const feedback = h('div', { class: 'empty:hidden', role: 'status', dataset: { historyFeedback: '' } });
  const slider = h('input', {
    type: 'range',
    id: 'history-slider',
    min: '0',
    max: '0',
    step: '1',
    value: '0',
    class: 'w-full accent-accent disabled:opacity-50',
    disabled: true,
    dataset: { historySlider: '' },
  });
  const sliderText = h('p', { class: 'text-xs text-muted', id: 'history-slider-text', dataset: { historySliderText: '' } }, '');
  const compareButton = h('button', { type: 'button', class: `${BUTTON} aria-pressed:bg-subtle aria-pressed:border-accent`, 'aria-pressed': 'false', dataset: { historyCompare: '' }, signal }, 'Compare');
  const compareTarget = h('select', {
    class: 'min-w-0 flex-1 rounded-md border border-line bg-surface px-1 py-1 text-xs text-fg',
    'aria-label': 'Compare the selected version with',
    dataset: { historyCompareTarget: '' },
  });
  const readOnlyNote = h('p', { id: 'history-readonly-note', class: 'text-xs text-wait', hidden: true, dataset: { historyReadonlyNote: '' } }, READ_ONLY_REASON);
  const restoreButton = h('button', { type: 'button', class: DANGER, dataset: { historyRestore: '' }, signal }, 'Restore this version…');
  const checkpointButton = h('button', { type: 'button', class: BUTTON, dataset: { historyCheckpoint: '' }, signal }, 'Add checkpoint…');
  const timeline = h('ol', { class: 'flex max-h-56 flex-col gap-1 overflow-y-auto rounded-md border border-line p-1', 'aria-label': 'Versions, newest first', dataset: { historyTimeline: '' } });
  const olderButton = h('button', { type: 'button', class: `${BUTTON} self-start`, hidden: true, dataset: { historyOlder: '' }, signal }, 'Load older versions');
  const authorshipButton = h(
    'button',
    { type: 'button', class: `${BUTTON} aria-pressed:border-accent aria-pressed:bg-subtle`, 'aria-pressed': 'false', dataset: { authorshipToggle: '' }, signal },
    'Show who wrote each line',
  );
  const authorshipRefresh = h('button', { type: 'button', class: BUTTON, hidden: true, dataset: { authorshipRefresh: '' }, signal }, 'Refresh');
  const authorshipStatus = h('div', { class: 'empty:hidden', role: 'status', dataset: { authorshipStatus: '' } });
  const commentCount = h('span', { class: 'ml-1 rounded-full bg-subtle px-1.5 text-[11px] font-semibold text-fg empty:hidden', dataset: { commentCount: '' } }, '');
  const commentsSection = h(
    'details',
    { class: 'group border-b border-line', open: true, dataset: { historyComments: '' } },
    h('summary', { class: `${HEADING} cursor-pointer px-3 py-2 hover:text-fg` }, 'Comments', commentCount),
    h('div', { class: 'px-3 pb-3' }, comments.element),
  );
  const contributorsSection = h(
    'details',
    { class: 'border-b border-line', open: true, dataset: { historyContributors: '' } },
    h('summary', { class: `${HEADING} cursor-pointer px-3 py-2 hover:text-fg` }, 'Who contributed'),
    h('div', { class: 'px-3 pb-3' }, contributors.element),
  );

  const heading = h('h2', { id: 'history-heading', class: 'text-sm font-semibold', tabindex: '-1' }, 'History');
  const panel = h(
    'aside',
    {
      id: 'history-panel',
      class:
        'flex min-h-0 w-80 shrink-0 flex-col border-l border-line bg-surface text-fg max-md:fixed max-md:inset-y-0 max-md:right-0 max-md:z-40 max-md:w-full max-md:max-w-sm max-md:shadow-xl lg:w-96',
      'aria-labelledby': 'history-heading',
      hidden: true,
      dataset: { historyPanel: '' },
      onKeydown: (event) => {
        if (event.key !== 'Escape' || event.defaultPrevented || event.target.closest?.('select')) return;
        event.preventDefault();
        if (overlay.isOpen()) backToLive();
        else close({ focusEditor: true });
      },
      signal,
    },
    h(
      'header',
      { class: 'flex items-start gap-2 border-b border-line px-3 py-2' },
      h('div', { class: 'min-w-0 flex-1' }, heading, fileLine),
      h('button', { type: 'button', class: ICON_BUTTON, title: 'Read the history again', 'aria-label': 'Refresh the history', dataset: { historyRefresh: '' }, onClick: () => refreshAll(), signal }, '⟳'),
      h('button', { type: 'button', class: ICON_BUTTON, 'aria-label': 'Close the history', title: `Close (${shortcutLabel})`, onClick: () => close({ focusEditor: true }), signal }, '×'),
    ),
    h(
      'div',
      { class: 'min-h-0 flex-1 overflow-y-auto' },
      h(
        'section',
        { class: SECTION, 'aria-labelledby': 'history-versions-heading' },
        h('h3', { id: 'history-versions-heading', class: HEADING }, 'Versions'),
        feedback,
        h('label', { for: 'history-slider', class: 'text-xs font-medium' }, 'Scrub through the versions'),
        slider,
        sliderText,
        h('div', { class: 'flex items-center gap-1.5' }, compareButton, compareTarget),
        h('div', { class: 'flex flex-wrap gap-1.5' }, restoreButton, checkpointButton),
        readOnlyNote,
        timeline,
        olderButton,
      ),
      h(
        'section',
        { class: SECTION, 'aria-labelledby': 'history-authorship-heading' },
        h('h3', { id: 'history-authorship-heading', class: HEADING }, 'Authorship'),
        h('div', { class: 'flex flex-wrap gap-1.5' }, authorshipButton, authorshipRefresh),
        authorshipStatus,
        authorship.legend,
      ),
      commentsSection,
      contributorsSection,
    ),
  );
  slot.append(panel);
  // The role can change while the panel is open: check the buttons whenever it is used.
  panel.addEventListener('focusin', () => updateControls(), { signal });
  panel.addEventListener('pointerenter', () => updateControls(), { signal });

  // Controls ------------------------------------------------------------------------------
  function updateControls() {
    const hasVersions = versions.length > 0;
    const editorAllowed = writable();
    slider.disabled = !hasVersions;
    compareButton.disabled = selected == null;
    compareTarget.disabled = selected == null;
    compareButton.setAttribute('aria-pressed', String(compare != null));
    restoreButton.disabled = !editorAllowed || selected == null;
    checkpointButton.disabled = !editorAllowed || !file || !hasVersions;
    readOnlyNote.hidden = editorAllowed;
    for (const control of [restoreButton, checkpointButton]) {
      if (editorAllowed) control.removeAttribute('aria-describedby');
      else control.setAttribute('aria-describedby', 'history-readonly-note');
      control.title = editorAllowed ? '' : READ_ONLY_REASON;
    }
    if (editorAllowed && selected == null) restoreButton.title = 'Pick a version first (slider or list).';
    const count = comments.count();
    commentCount.textContent = count ? String(count) : '';
  }

  function versionTitle(version) {
    const entry = versions.find((v) => v.version === version);
    if (!entry) return `Version ${version}`;
    const marks = entry.checkpoints?.map(checkpointLabel).join(', ');
    return `Version ${version} · ${timeLabel(entry.at)} · ${authorsLabel(entry.authors)}${marks ? ` · ${marks}` : ''}`;
  }

  function renderTimeline() {
    const oldestFirst = [...versions].reverse();
    slider.max = String(Math.max(0, oldestFirst.length - 1));
    const index = selected == null ? oldestFirst.length - 1 : oldestFirst.findIndex((v) => v.version === selected);
    slider.value = String(Math.max(0, index));
    slider.setAttribute('aria-valuetext', selected == null ? 'The live file' : versionTitle(selected));
    sliderText.textContent =
      timelineState === 'loading' && !versions.length
        ? 'Loading the versions…'
        : selected == null
          ? versions.length
            ? `Showing the live file. ${versions.length}${nextBefore ? '+' : ''} versions: drag the slider or pick one below.`
            : ''
          : `Showing ${versionTitle(selected)} (read only).`;

    replaceChildren(
      compareTarget,
      h('option', { value: 'live' }, 'with the current text'),
      versions.filter((v) => v.version !== selected).map((v) => h('option', { value: String(v.version) }, `with version ${v.version} (${timeLabel(v.at)})`)),
    );
    compareTarget.value = compare != null && compare !== 'live' && compare !== selected ? String(compare) : 'live';

    if (timelineState === 'error') replaceChildren(timeline, h('li', null, notice('error', `The history could not be loaded: ${timelineError}`)));
    else if (timelineState === 'loading' && !versions.length) replaceChildren(timeline, h('li', { class: 'text-xs text-muted', role: 'status' }, 'Loading…'));
    else if (!versions.length) replaceChildren(timeline, h('li', { class: 'text-xs text-muted', dataset: { historyEmpty: '' } }, file ? 'No changes of this file are recorded yet.' : 'Open a file to see its history.'));
    else {
      // Re-rendering replaces the buttons: keep the keyboard focus on the same version.
      const focused = timeline.contains(document.activeElement) ? document.activeElement.dataset.historyVersion : null;
      replaceChildren(
        timeline,
        versions.map((entry) =>
          h(
            'li',
            null,
            h(
              'button',
              {
                type: 'button',
                class:
                  'flex w-full flex-col items-start gap-0.5 rounded-md border border-transparent px-2 py-1 text-left text-xs hover:border-line hover:bg-subtle aria-[current=true]:border-accent aria-[current=true]:bg-subtle',
                'aria-current': String(entry.version === selected),
                dataset: { historyVersion: String(entry.version) },
                onClick: () => select(entry.version),
                signal,
              },
              h(
                'span',
                { class: 'flex w-full items-baseline gap-2' },
                h('span', { class: 'font-mono font-semibold text-fg' }, `v${entry.version}`),
                h('time', { class: 'text-muted' }, timeLabel(entry.at)),
                entry.version === versions[0].version ? h('span', { class: 'ml-auto text-[11px] text-muted' }, 'newest') : null,
              ),
              h('span', { class: 'truncate text-fg' }, authorsLabel(entry.authors), entry.merged ? ' (merged changes)' : ''),
              entry.checkpoints?.length
                ? h(
                    'span',
                    { class: 'flex flex-wrap gap-1' },
                    entry.checkpoints.map((c) =>
                      h(
                        'span',
                        { class: `rounded-full px-1.5 text-[11px] font-medium ${c.automatic ? 'bg-subtle text-muted' : 'bg-accent/15 text-accent'}`, dataset: { historyCheckpointName: c.name ?? '' } },
                        c.automatic ? '◷ ' : '★ ',
                        checkpointLabel(c),
                      ),
                    ),
                  )
                : null,
            ),
          ),
        ),
      );
      if (focused) timeline.querySelector(`[data-history-version="${focused}"]`)?.focus();
      else if (selected != null) timeline.querySelector('[aria-current="true"]')?.scrollIntoView({ block: 'nearest' });
    }
    olderButton.hidden = !nextBefore;
    updateControls();
  }

  // Loading -------------------------------------------------------------------------------
  async function loadTimeline({ older = false } = {}) {
    const target = file;
    const mine = ++generation;
    if (!target) {
      versions = [];
      timelineState = 'idle';
      renderTimeline();
      return;
    }
    timelineState = 'loading';
    if (!older) renderTimeline();
    olderButton.disabled = true;
    try {
      const data = await api.timeline(target.fileId, { before: older ? nextBefore : null, limit: PAGE });
      if (mine !== generation || file !== target) return;
      const page = Array.isArray(data?.versions) ? data.versions : [];
      versions = older ? [...versions, ...page.filter((v) => !versions.some((known) => known.version === v.version))] : page;
      nextBefore = data?.next_before ?? null;
      timelineState = 'ready';
    } catch (error) {
      if (mine !== generation || signal.aborted) return;
      timelineState = 'error';
      timelineError = messageOf(error);
    } finally {
      olderButton.disabled = false;
    }
    renderTimeline();
  }

  async function textAt(version) {
    if (texts.has(version)) return texts.get(version);
    const { text } = await api.version(file.fileId, version);
    texts.set(version, text);
    while (texts.size > TEXT_CACHE) texts.delete(texts.keys().next().value);
    return text;
  }

  // Showing versions ------------------------------------------------------------------------
  let showToken = 0;
  async function show() {
    const mine = ++showToken;
    const target = file;
    if (selected == null || !target) {
      overlay.hide();
      return;
    }
    const version = selected;
    const language = target.model.getLanguageId();
    try {
      const text = await textAt(version);
      if (mine !== showToken || file !== target) return;
      if (compare == null) {
        overlay.showText({ title: `${versionTitle(version)} — read only`, text, language });
      } else if (compare === 'live') {
        overlay.showDiff({
          title: `Version ${version} compared with the current text`,
          original: text,
          modified: target.model,
          language,
          leftLabel: `Version ${version} (${timeLabel(versions.find((v) => v.version === version)?.at)})`,
          rightLabel: 'Current text (live)',
        });
      } else {
        const other = await textAt(compare);
        if (mine !== showToken || file !== target) return;
        const [older, newer] = compare < version ? [compare, version] : [version, compare];
        overlay.showDiff({
          title: `Version ${older} compared with version ${newer}`,
          original: older === version ? text : other,
          modified: newer === version ? text : other,
          language,
          leftLabel: `Version ${older}`,
          rightLabel: `Version ${newer}`,
        });
      }
      feedback.replaceChildren();
    } catch (error) {
      if (mine !== showToken || signal.aborted) return;
      feedback.replaceChildren(notice('error', `Version ${version} could not be shown: ${messageOf(error)}`));
    }
  }

  function select(version) {
    selected = version;
    if (compare === version) compare = 'live';
    renderTimeline();
    show();
  }

  function backToLive({ focusEditor = false } = {}) {
    selected = null;
    compare = null;
    showToken += 1;
    overlay.hide();
    renderTimeline();
    if (focusEditor && editor.getModel()) editor.focus();
  }

  let scrubTimer = 0;
  slider.addEventListener(
    'input',
    () => {
      const oldestFirst = [...versions].reverse();
      const entry = oldestFirst[Number(slider.value)];
      if (!entry) return;
      selected = entry.version;
      if (compare === selected) compare = 'live';
      renderTimeline();
      clearTimeout(scrubTimer);
      scrubTimer = setTimeout(show, SCRUB_DELAY_MS);
    },
    { signal },
  );
  compareButton.addEventListener(
    'click',
    () => {
      if (selected == null) return;
      compare = compare == null ? (compareTarget.value === 'live' ? 'live' : Number(compareTarget.value)) : null;
      renderTimeline();
      show();
    },
    { signal },
  );
  compareTarget.addEventListener(
    'change',
    () => {
      compare = compareTarget.value === 'live' ? 'live' : Number(compareTarget.value);
      renderTimeline();
      show();
    },
    { signal },
  );
  olderButton.addEventListener('click', () => loadTimeline({ older: true }), { signal });

  // Restore and checkpoints ----------------------------------------------------------------
  restoreButton.addEventListener(
    'click',
    async () => {
      const target = file;
      const version = selected;
      if (!target || version == null || !writable()) return;
      const ok = await confirmDanger({
        title: `Restore version ${version}?`,
        message: `“${target.path}” goes back to how it was at ${timeLabel(versions.find((v) => v.version === version)?.at)}, for everyone with it open. The restore is one new change: the versions after it stay in the history and can be restored in turn.`,
        confirmLabel: 'Restore',
      });
      if (!ok || signal.aborted || file !== target) return;
      restoreButton.disabled = true;
      try {
        const result = await api.restore(target.fileId, version);
        if (file !== target) return;
        backToLive();
        feedback.replaceChildren(
          notice('success', result?.changed === false ? `The file already matches version ${version}: nothing changed.` : `Restored version ${version}. Everyone’s editor shows it now.`),
        );
        comments.reload();
        await loadTimeline();
        slider.focus(); // the restore button is disabled now: keep the focus in the panel
        if (authorshipOn) loadAuthorship();
      } catch (error) {
        if (!signal.aborted) feedback.replaceChildren(notice('error', `The version was not restored: ${messageOf(error)}`));
      } finally {
        updateControls();
      }
    },
    { signal },
  );

  checkpointButton.addEventListener(
    'click',
    async () => {
      const target = file;
      if (!target || !writable()) return;
      const name = await askText({
        title: 'Add a checkpoint',
        label: 'Name (for example “before the refactor”)',
        submitLabel: 'Add checkpoint',
        validate: (text) => (!text.trim() ? 'Enter a name.' : text.length > 100 ? 'Use at most 100 characters.' : null),
      });
      checkpointButton.focus();
      if (!name || signal.aborted || file !== target) return;
      try {
        const checkpoint = await api.addCheckpoint(target.fileId, name.trim());
        feedback.replaceChildren(notice('success', `Checkpoint “${checkpoint.name}” added at version ${checkpoint.version}.`));
        await loadTimeline();
      } catch (error) {
        if (!signal.aborted) feedback.replaceChildren(notice('error', `The checkpoint was not added: ${messageOf(error)}`));
      }
    },
    { signal },
  );

  // Authorship ------------------------------------------------------------------------------
  let authorshipToken = 0;
  async function loadAuthorship() {
    const target = file;
    const mine = ++authorshipToken;
    if (!target) return;
    authorshipStatus.replaceChildren(h('p', { class: 'text-xs text-muted' }, 'Working out who wrote each line…'));
    try {
      const result = await api.authorship(target.fileId);
      if (mine !== authorshipToken || file !== target || !authorshipOn) return;
      authorship.show(result, target.model);
      authorshipStatus.replaceChildren(
        h('p', { class: 'text-xs text-muted', dataset: { authorshipVersion: String(result.version) } }, `As of version ${result.version}. Hover a line’s coloured bar for who and when.`),
      );
    } catch (error) {
      if (mine === authorshipToken && !signal.aborted) authorshipStatus.replaceChildren(notice('error', `Authorship could not be loaded: ${messageOf(error)}`));
    }
  }
  function setAuthorship(on) {
    authorshipOn = on;
    authorshipButton.setAttribute('aria-pressed', String(on));
    authorshipButton.textContent = on ? 'Hide who wrote each line' : 'Show who wrote each line';
    authorshipRefresh.hidden = !on;
    if (on) loadAuthorship();
    else {
      authorshipToken += 1;
      authorship.clear();
      authorshipStatus.replaceChildren();
    }
  }
  authorshipButton.addEventListener('click', () => setAuthorship(!authorshipOn), { signal });
  authorshipRefresh.addEventListener('click', () => loadAuthorship(), { signal });

  // The active file ------------------------------------------------------------------------
  let contentListener = null;
  function activeChanged() {
    const id = activeFileId();
    const found = id ? openFiles().find((f) => f.fileId === id) : null;
    const next = found && editor.getModel() === found.model ? { fileId: found.fileId, path: found.path, model: found.model } : null;
    if (next && file && next.fileId === file.fileId && next.model === file.model) {
      file.path = next.path;
      fileLine.textContent = next.path;
      comments.redecorate();
      if (authorshipOn) loadAuthorship();
      return;
    }
    file = next;
    contentListener?.dispose();
    contentListener = null;
    // A file's text arrives after it opens: place the comment marks again when it does.
    if (file && file.model.getValueLength() === 0) {
      const model = file.model;
      contentListener = model.onDidChangeContent(() => {
        contentListener?.dispose();
        contentListener = null;
        if (file?.model === model) setTimeout(() => comments.redecorate(), 0);
      });
    }
    texts.clear();
    versions = [];
    nextBefore = null;
    selected = null;
    compare = null;
    overlay.hide();
    feedback.replaceChildren();
    fileLine.textContent = file ? file.path : 'No file open';
    comments.setFile(file);
    authorship.clear();
    if (isOpen()) {
      loadTimeline();
      contributors.setFile(file?.fileId ?? null);
    }
    if (authorshipOn) loadAuthorship();
    renderTimeline();
  }

  function refreshAll() {
    texts.clear();
    loadTimeline();
    comments.reload();
    contributors.reload();
    if (authorshipOn) loadAuthorship();
  }

  // Open and close -------------------------------------------------------------------------
  const isOpen = () => !panel.hidden;
  function open() {
    if (isOpen()) return;
    panel.hidden = false;
    button.setAttribute('aria-pressed', 'true');
    if (!file || file.fileId !== activeFileId()) activeChanged();
    loadTimeline();
    contributors.setFile(file?.fileId ?? null);
    updateControls();
    heading.focus();
  }
  function close({ focusEditor = false } = {}) {
    if (!isOpen()) return;
    panel.hidden = true;
    button.setAttribute('aria-pressed', 'false');
    backToLive();
    if (focusEditor && editor.getModel()) editor.focus();
  }

  let timelineTimer = 0;
  const reloadTimelineSoon = () => {
    clearTimeout(timelineTimer);
    timelineTimer = setTimeout(() => {
      if (!isOpen()) return;
      loadTimeline();
      contributors.reload();
    }, 300);
  };

  signal.addEventListener(
    'abort',
    () => {
      clearTimeout(scrubTimer);
      clearTimeout(timelineTimer);
      contentListener?.dispose();
      overlay.dispose();
    },
    { once: true },
  );

  activeChanged();

  return {
    toggle: () => (isOpen() ? close({ focusEditor: true }) : open()),
    activeChanged,
    commentOnSelection() {
      open();
      commentsSection.open = true;
      comments.focusInput();
    },
    /** Open the panel showing `version` of the active file (a link from a message, docs/chat.md). */
    showVersion(version) {
      open();
      select(version);
    },
    handleEvent(event) {
      if (!file || event.file_id !== file.fileId) return;
      if (event.type === 'comment.added' || event.type === 'comment.updated') {
        comments.upsert(event.comment);
        updateControls();
      } else if (event.type === 'history.checkpoint') {
        reloadTimelineSoon();
      } else if (event.type === 'history.restored') {
        if (event.by !== me()) feedback.replaceChildren(notice('info', `Someone restored version ${event.version} of this file.`));
        reloadTimelineSoon();
        comments.reload(); // code a comment was about may be gone now
      }
    },
    resync() {
      comments.reload();
      if (isOpen()) loadTimeline();
    },
  };
}
