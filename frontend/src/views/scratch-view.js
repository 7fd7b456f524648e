// /scratch: a private Monaco scratch pad. Monaco is loaded on demand; the text and the
// chosen language are kept in this browser's localStorage and never sent anywhere.

import { h, replaceChildren } from '../dom.js';
import { onColorSchemeChange, prefersDark } from '../editor/color-scheme.js';
import { defineEditorThemes, themeFor } from '../editor/editor-themes.js';
import { loadEditor } from '../editor/load-editor.js';
import { SCRATCH_LANGUAGES, languageLabel } from '../editor/scratch-languages.js';
import { loadScratch, saveScratch } from '../editor/scratch-storage.js';
import { TEST_MODE } from '../shell/test-mode.js';
import { pageHeading } from './page-layout.js';

const SAVE_DELAY_MS = 300;

const SAVE_TEXT = {
  saved: 'Saved in this browser',
  pending: 'Saving…',
  failed: 'Not saved: this browser’s storage is full or blocked',
};

function spinner() {
  return h('span', {
    class: 'size-5 rounded-full border-2 border-line border-t-accent motion-safe:animate-spin',
    'aria-hidden': 'true',
  });
}

export const scratchView = {
  title: 'Scratch editor',
  render(outlet, { signal }) {
    const state = loadScratch();

    const languageSelect = h(
      'select',
      {
        id: 'scratch-language',
        class: 'rounded-md border border-line bg-surface px-3 py-1.5 text-sm text-fg',
      },
      SCRATCH_LANGUAGES.map(({ id, label }) => h('option', { value: id }, label)),
    );
    languageSelect.value = state.language;

    const loading = h(
      'div',
      {
        class: 'absolute inset-0 z-10 flex items-center justify-center gap-3 bg-surface text-muted',
        role: 'status',
      },
      spinner(),
      h('span', null, 'Loading the editor…'),
    );
    const host = h('div', { class: 'absolute inset-0' });
    const frame = h(
      'div',
      {
        class: 'editor-frame relative min-h-80 flex-1 overflow-hidden rounded-lg border border-line bg-surface',
        'aria-busy': 'true',
      },
      host,
      loading,
    );

    const cursorStatus = h('span', { dataset: { statusCursor: '' } }, 'Ln 1, Col 1');
    const languageStatus = h('span', { dataset: { statusLanguage: '' } }, languageLabel(state.language));
    const saveStatus = h('span', { dataset: { statusSave: '', saveState: 'saved' } }, SAVE_TEXT.saved);
    const statusBar = h(
      'div',
      {
        class:
          'flex flex-wrap items-center justify-between gap-x-4 gap-y-1 rounded-md bg-subtle px-3 py-1.5 font-mono text-xs text-muted',
        'aria-label': 'Editor status',
        role: 'group',
      },
      cursorStatus,
      h('span', { class: 'flex flex-wrap gap-x-4' }, languageStatus, saveStatus),
    );

    outlet.append(
      h(
        'div',
        { class: 'mx-auto flex w-full max-w-6xl flex-1 flex-col gap-3 px-4 py-6' },
        h(
          'div',
          { class: 'flex flex-wrap items-end justify-between gap-4' },
          h(
            'div',
            null,
            pageHeading('Scratch editor'),
            h(
              'p',
              { class: 'mt-1 text-sm text-muted' },
              'Saved in this browser only. Nothing you type here is sent to the server.',
            ),
          ),
          h(
            'div',
            { class: 'flex items-center gap-2' },
            h('label', { for: 'scratch-language', class: 'text-sm font-medium' }, 'Language'),
            languageSelect,
          ),
        ),
        frame,
        statusBar,
        h(
          'p',
          { class: 'text-xs text-muted' },
          'Tab indents inside the editor. Press ',
          h('kbd', { class: 'font-mono' }, 'Ctrl+M'),
          ' (',
          h('kbd', { class: 'font-mono' }, 'Ctrl+Shift+M'),
          ' on macOS) to make Tab move the focus instead. ',
          h('kbd', { class: 'font-mono' }, 'Alt+F1'),
          ' opens the accessibility help.',
        ),
      ),
    );

    // Saving -------------------------------------------------------------------
    let saveTimer = 0;
    let currentText = () => state.text;

    function setSaveState(key) {
      saveStatus.dataset.saveState = key;
      saveStatus.textContent = SAVE_TEXT[key];
    }

    function saveNow() {
      clearTimeout(saveTimer);
      saveTimer = 0;
      state.text = currentText();
      setSaveState(saveScratch(state) ? 'saved' : 'failed');
    }

    function scheduleSave() {
      setSaveState('pending');
      clearTimeout(saveTimer);
      saveTimer = setTimeout(saveNow, SAVE_DELAY_MS);
    }

    window.addEventListener('pagehide', () => saveTimer && saveNow(), { signal });
    document.addEventListener(
      'visibilitychange',
      () => document.visibilityState === 'hidden' && saveTimer && saveNow(),
      { signal },
    );

    languageSelect.addEventListener(
      'change',
      () => {
        state.language = languageSelect.value;
        languageStatus.textContent = languageLabel(state.language);
        onLanguageChange?.(state.language);
        saveNow();
      },
      { signal },
    );

    // Editor -------------------------------------------------------------------
    let onLanguageChange = null;

    function mount(monaco) {
      defineEditorThemes(monaco);
      const model = monaco.editor.createModel(state.text, state.language);
      const editor = monaco.editor.create(host, {
        model,
        theme: themeFor(prefersDark()),
        automaticLayout: true,
        ariaLabel: 'Scratch editor',
        fontSize: 14,
        fontFamily: 'ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace',
        minimap: { enabled: window.matchMedia('(min-width: 768px)').matches },
        scrollBeyondLastLine: false,
        fixedOverflowWidgets: true,
        padding: { top: 12, bottom: 12 },
      });

      currentText = () => model.getValue();
      onLanguageChange = (language) => monaco.editor.setModelLanguage(model, language);

      const subscriptions = [
        model.onDidChangeContent(scheduleSave),
        editor.onDidChangeCursorSelection(({ selection }) => {
          const { positionLineNumber: line, positionColumn: column } = selection;
          const selected = model.getValueLengthInRange(selection);
          cursorStatus.textContent = `Ln ${line}, Col ${column}${selected ? ` (${selected} selected)` : ''}`;
        }),
      ];
      onColorSchemeChange((dark) => monaco.editor.setTheme(themeFor(dark)), signal);

      loading.remove();
      frame.removeAttribute('aria-busy');
      document.documentElement.dataset.editorReady = '1';
      if (TEST_MODE) window.__collabcode = { monaco, editor };

      signal.addEventListener(
        'abort',
        () => {
          if (saveTimer) saveNow();
          for (const subscription of subscriptions) subscription.dispose();
          editor.dispose();
          model.dispose();
          delete document.documentElement.dataset.editorReady;
          if (TEST_MODE) delete window.__collabcode;
        },
        { once: true },
      );
    }

    function showLoadError(error) {
      const retry = h(
        'button',
        {
          type: 'button',
          class: 'rounded-md bg-accent px-3 py-1.5 text-sm font-semibold text-on-accent hover:bg-accent-strong',
          onClick: start,
          signal,
        },
        'Try again',
      );
      loading.setAttribute('role', 'alert');
      loading.className =
        'absolute inset-0 z-10 flex flex-col items-center justify-center gap-3 bg-surface p-6 text-center';
      replaceChildren(
        loading,
        h('p', { class: 'font-medium text-bad' }, 'The editor could not be loaded.'),
        h('p', { class: 'text-sm text-muted' }, error?.message ?? String(error)),
        retry,
      );
    }

    function start() {
      loading.setAttribute('role', 'status');
      loading.className = 'absolute inset-0 z-10 flex items-center justify-center gap-3 bg-surface text-muted';
      replaceChildren(loading, spinner(), h('span', null, 'Loading the editor…'));
      loadEditor().then(
        (monaco) => signal.aborted || mount(monaco),
        (error) => signal.aborted || showLoadError(error),
      );
    }

    start();
  },
};
