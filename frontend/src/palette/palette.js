// The command palette (Ctrl/Cmd+K): a modal dialog with a combobox that filters everything the
// user can jump to. Up/Down move, Enter opens, Escape closes. Typing then Enter right away
// works: while sources are still loading, Enter waits for them and opens the best match.

import { h } from '../dom.js';
import { fuzzyMatch, highlightRuns } from './fuzzy.js';
import { loadSources, pageItems, searchPeople } from './sources.js';

const MAX_RESULTS = 50;
const WAIT_FOR_SOURCES_MS = 8000;
const KIND_LABEL = { page: 'Page', workspace: 'Workspace', file: 'File', person: 'Person', conversation: 'Chat' };
const KIND_BONUS = { page: 1, workspace: 2, file: 0, person: 0.5, conversation: 0.5 };
const EMPTY_QUERY_KINDS = ['workspace', 'conversation', 'page'];

let instance = null;

/** Open the palette (building it on first use). `navigate(href)` does the in-app navigation. */
export function openPalette(navigate) {
  if (!instance) instance = createPalette(navigate);
  instance.open();
  return instance;
}

export function closePalette() {
  instance?.close();
}

function createPalette(navigate) {
  const sources = new Map(); // kind -> items
  let loading = null;
  let results = [];
  let active = 0;
  let userMoved = false;
  let searchController = null;
  let searchTimer = 0;
  let searchItems = [];

  const input = h('input', {
    type: 'text',
    role: 'combobox',
    'aria-expanded': 'true',
    'aria-controls': 'palette-list',
    'aria-autocomplete': 'list',
    'aria-label': 'Go to a workspace, file, person or conversation',
    placeholder: 'Go to a workspace, file, person or conversation…',
    autocomplete: 'off',
    spellcheck: 'false',
    class: 'w-full bg-transparent px-4 py-3 text-base text-fg outline-none placeholder:text-muted',
    dataset: { paletteInput: '' },
  });
  const list = h('ul', { id: 'palette-list', role: 'listbox', 'aria-label': 'Results', class: 'max-h-[min(24rem,60vh)] overflow-y-auto p-1', dataset: { paletteList: '' } });
  const status = h('p', { role: 'status', class: 'px-4 py-2 text-sm text-muted empty:hidden', dataset: { paletteStatus: '' } });
  const dialog = h(
    'dialog',
    {
      class:
        'mx-auto mt-[12vh] mb-auto w-[min(40rem,calc(100vw-2rem))] overflow-hidden rounded-xl border border-line bg-surface p-0 text-fg shadow-2xl backdrop:bg-black/40',
      'aria-label': 'Command palette',
      dataset: { palette: '' },
    },
    h('div', { class: 'border-b border-line' }, input),
    list,
    status,
    h(
      'p',
      { class: 'flex flex-wrap gap-x-4 border-t border-line px-4 py-2 text-xs text-muted', 'aria-hidden': 'true' },
      h('span', null, '↑ ↓ to move'),
      h('span', null, 'Enter to open'),
      h('span', null, 'Esc to close'),
    ),
  );

  function allItems() {
    const seen = new Set();
    const items = [];
    for (const group of [pageItems(), ...sources.values(), searchItems]) {
      for (const item of group) {
        if (seen.has(item.key)) continue;
        seen.add(item.key);
        items.push(item);
      }
    }
    return items;
  }

  function rank() {
    const query = input.value.trim();
    const items = allItems();
    if (!query) {
      results = EMPTY_QUERY_KINDS.flatMap((kind) => items.filter((i) => i.kind === kind)).slice(0, MAX_RESULTS).map((item) => ({ item, positions: [] }));
      return;
    }
    const scored = [];
    for (const item of items) {
      const match = fuzzyMatch(query, item.text);
      if (!match) continue;
      const onLabel = item.text === item.label ? match.positions : fuzzyMatch(query, item.label)?.positions ?? [];
      scored.push({ item, positions: onLabel, score: match.score + KIND_BONUS[item.kind] });
    }
    scored.sort((a, b) => b.score - a.score || a.item.label.localeCompare(b.item.label));
    results = scored.slice(0, MAX_RESULTS);
  }

  function optionId(i) {
    return `palette-opt-${i}`;
  }

  function paint() {
    rank();
    if (!userMoved || active >= results.length) active = 0;
    list.replaceChildren(
      ...results.map(({ item, positions }, i) =>
        h(
          'li',
          {
            id: optionId(i),
            role: 'option',
            'aria-selected': String(i === active),
            class: 'flex cursor-pointer items-center gap-3 rounded-md px-3 py-2 aria-selected:bg-subtle aria-selected:ring-1 aria-selected:ring-line',
            dataset: { paletteOption: item.kind, href: item.href },
          },
          h('span', { class: 'w-20 shrink-0 text-xs font-medium text-muted uppercase' }, KIND_LABEL[item.kind]),
          h(
            'span',
            { class: `min-w-0 flex-1 truncate ${item.kind === 'file' ? 'font-mono text-sm' : ''}` },
            highlightRuns(item.label, positions).map((run) => (run.hit ? h('mark', { class: 'bg-transparent font-bold text-accent' }, run.text) : run.text)),
          ),
          h('span', { class: 'max-w-[40%] shrink-0 truncate text-sm text-muted' }, item.detail),
        ),
      ),
    );
    if (results.length) input.setAttribute('aria-activedescendant', optionId(active));
    else input.removeAttribute('aria-activedescendant');
    const count = results.length;
    status.textContent = loading && !count ? 'Loading…' : !count ? 'Nothing matches.' : input.value.trim() ? `${count === MAX_RESULTS ? `${count}+` : count} result${count === 1 ? '' : 's'}` : '';
    list.querySelector('[aria-selected=true]')?.scrollIntoView({ block: 'nearest' });
  }

  function move(step) {
    if (!results.length) return;
    userMoved = true;
    active = (active + step + results.length) % results.length;
    for (const [i, el] of [...list.children].entries()) el.setAttribute('aria-selected', String(i === active));
    input.setAttribute('aria-activedescendant', optionId(active));
    list.children[active]?.scrollIntoView({ block: 'nearest' });
  }

  function go(item) {
    if (!item) return;
    close();
    navigate(item.href);
  }

  async function enter() {
    if (loading && !userMoved) {
      // Sources still arriving: wait (bounded) so "type, Enter" opens the real best match.
      status.textContent = 'Loading…';
      await Promise.race([loading, new Promise((resolve) => setTimeout(resolve, WAIT_FOR_SOURCES_MS))]);
      if (!dialog.open) return;
      paint();
    }
    go(results[active]?.item);
  }

  function searchServer() {
    clearTimeout(searchTimer);
    searchController?.abort();
    const query = input.value;
    searchTimer = setTimeout(() => {
      searchController = new AbortController();
      searchPeople(query, searchController.signal).then(
        (items) => {
          searchItems = items;
          if (dialog.open) paint();
        },
        () => {},
      );
    }, 250);
  }

  input.addEventListener('input', () => {
    userMoved = false;
    paint();
    searchServer();
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      move(event.key === 'ArrowDown' ? 1 : -1);
    } else if (event.key === 'Enter') {
      event.preventDefault();
      enter();
    } else if (event.key === 'Home' && event.ctrlKey) {
      event.preventDefault();
      move(-active);
    }
  });
  list.addEventListener('click', (event) => {
    const option = event.target instanceof Element ? event.target.closest('[role=option]') : null;
    if (option) go(results[[...list.children].indexOf(option)]?.item);
  });
  list.addEventListener('mousemove', (event) => {
    const option = event.target instanceof Element ? event.target.closest('[role=option]') : null;
    const i = option ? [...list.children].indexOf(option) : -1;
    if (i >= 0 && i !== active) move(i - active);
  });
  // A click on the backdrop (outside the dialog's box) closes it.
  dialog.addEventListener('click', (event) => {
    if (event.target === dialog) close();
  });
  dialog.addEventListener('close', () => {
    clearTimeout(searchTimer);
    searchController?.abort();
    restoreFocus?.focus?.();
  });

  let restoreFocus = null;

  function open() {
    if (dialog.open) {
      input.select();
      return;
    }
    restoreFocus = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (!dialog.isConnected) document.body.append(dialog);
    input.value = '';
    searchItems = [];
    userMoved = false;
    dialog.showModal();
    input.focus();
    const started = loadSources((kind, items) => {
      sources.set(kind, items);
      if (dialog.open) paint();
    }).finally(() => {
      if (loading === started) loading = null;
      if (dialog.open) paint();
    });
    loading = started;
    paint();
  }

  function close() {
    if (dialog.open) dialog.close();
  }

  return { open, close, dialog };
}

/** Drop the palette and what it loaded (on sign-out or when another account signs in). */
export function resetPalette() {
  instance?.close();
  instance?.dialog.remove();
  instance = null;
}
