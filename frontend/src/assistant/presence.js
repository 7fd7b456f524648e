// Show where the assistant is editing: for every awareness state of the active file with an
// `assistant: {anchor, head}` field (published by shared-edit.js), highlight the range and
// label it "Assistant (for <name>)". The name is the `user` the server stamped on that
// state, so a client cannot make the assistant appear to act for someone else.

import * as Y from 'yjs';
import { h } from '../dom.js';

const MAX_LABEL_NAME = 64;

function relative(json) {
  if (!json || typeof json !== 'object') return null;
  try {
    return Y.createRelativePositionFromJSON(json);
  } catch {
    return null;
  }
}

/**
 * @param {object} options
 * @param {object} options.monaco
 * @param {object} options.editor  the workspace editor
 * @param {() => ({model: object, session: object}|null)} options.activeFile
 * @param {number|undefined} options.myUserId
 * @param {AbortSignal} options.signal
 */
export function watchAssistantPresence({ monaco, editor, activeFile, myUserId, signal }) {
  const decorations = editor.createDecorationsCollection();
  const widgets = new Map(); // clientId -> content widget
  let watched = null; // {session, off}

  /** After the end of the range's first line, so the label never hides code. */
  function labelPosition(start) {
    const model = editor.getModel();
    const column = model ? model.getLineMaxColumn(start.lineNumber) : start.column;
    return {
      position: { lineNumber: start.lineNumber, column },
      preference: [monaco.editor.ContentWidgetPositionPreference.EXACT],
    };
  }

  function clearWidgets() {
    for (const widget of widgets.values()) editor.removeContentWidget(widget);
    widgets.clear();
  }

  function render() {
    const file = activeFile();
    if (!file || file.model !== editor.getModel() || !watched || watched.session !== file.session) {
      decorations.clear();
      clearWidgets();
      return;
    }
    const { session, model } = file;
    const ytext = session.ydoc.getText('content');
    const next = [];
    const seen = new Set();
    for (const [clientId, state] of session.provider.awareness.getStates()) {
      const marker = state?.assistant;
      if (!marker || typeof marker !== 'object') continue;
      const anchor = relative(marker.anchor);
      const head = relative(marker.head);
      if (!anchor || !head) continue;
      const a = Y.createAbsolutePositionFromRelativePosition(anchor, session.ydoc);
      const b = Y.createAbsolutePositionFromRelativePosition(head, session.ydoc);
      if (!a || !b || a.type !== ytext || b.type !== ytext) continue;
      const start = model.getPositionAt(Math.min(a.index, b.index));
      const end = model.getPositionAt(Math.max(a.index, b.index));
      const user = state.user && typeof state.user === 'object' ? state.user : {};
      const mine = clientId === session.ydoc.clientID || (myUserId != null && user.id === myUserId);
      const name = typeof user.name === 'string' && user.name ? user.name.slice(0, MAX_LABEL_NAME) : 'someone';
      const label = mine ? 'Assistant (for you)' : `Assistant (for ${name})`;
      next.push({
        range: new monaco.Range(start.lineNumber, start.column, end.lineNumber, end.column),
        options: {
          className: 'cc-assistant-range', // styles/tailwind.css; Monaco drops '/' from class names
          isWholeLine: start.lineNumber !== end.lineNumber || start.column === end.column,
          stickiness: monaco.editor.TrackedRangeStickiness.NeverGrowsWhenTypingAtEdges,
          overviewRuler: { color: '#8b5cf6', position: monaco.editor.OverviewRulerLane.Center },
        },
      });
      seen.add(clientId);
      let widget = widgets.get(clientId);
      if (!widget) {
        const node = h(
          'div',
          {
            class: 'pointer-events-none relative z-10 ml-4 rounded-sm bg-violet-700 px-1.5 font-sans text-[11px] leading-4 font-semibold whitespace-nowrap text-white shadow',
            dataset: { assistantMarker: mine ? 'self' : name },
          },
          label,
        );
        widget = {
          position: null,
          getId: () => `collabcode.assistant.${clientId}`,
          getDomNode: () => node,
          getPosition: () => widget.position,
        };
        widgets.set(clientId, widget);
        widget.position = labelPosition(start);
        editor.addContentWidget(widget);
      } else {
        widget.position = labelPosition(start);
        editor.layoutContentWidget(widget);
      }
    }
    for (const [clientId, widget] of widgets) {
      if (!seen.has(clientId)) {
        editor.removeContentWidget(widget);
        widgets.delete(clientId);
      }
    }
    decorations.set(next);
  }

  function watch({ always = true } = {}) {
    const file = activeFile();
    const session = file?.session ?? null;
    const changed = (watched?.session ?? null) !== session;
    if (changed) {
      watched?.off();
      watched = null;
      clearWidgets();
      if (session) {
        const awareness = session.provider.awareness;
        const ytext = session.ydoc.getText('content');
        const onText = () => render();
        awareness.on('change', render);
        ytext.observe(onText);
        watched = {
          session,
          off() {
            awareness.off('change', render);
            ytext.unobserve(onText);
          },
        };
      }
    }
    if (changed || always) render();
  }

  const modelListener = editor.onDidChangeModel(() => queueMicrotask(watch));
  // A file's document is replaced when its session restarts (reconnect after a role change).
  const timer = setInterval(() => watch({ always: false }), 1000);
  watch();
  signal.addEventListener(
    'abort',
    () => {
      clearInterval(timer);
      modelListener.dispose();
      watched?.off();
      watched = null;
    },
    { once: true },
  );
}
