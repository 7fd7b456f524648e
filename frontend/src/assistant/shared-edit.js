// The assistant edits the shared document like a collaborator does:
//   - the range it was asked about is remembered as Yjs relative positions, so it follows
//     everyone's edits, together with the text it held;
//   - an edit is applied only if that text is unchanged (otherwise the caller shows a diff);
//   - it is one Yjs transaction with an origin of its own, tracked by the requesting
//     user's UndoManager, so one Ctrl+Z takes all of it back;
//   - while it lands, the user's awareness state carries `assistant: {anchor, head}` so
//     every editor shows "Assistant (for <name>)" over the range (see presence.js).

import * as Y from 'yjs';

const MARKER_MS = 4000;

/** session -> the origin of the assistant's transactions in that document */
const origins = new WeakMap();
/** session -> timer that clears the awareness marker */
const markerTimers = new WeakMap();

function ytextOf(session) {
  return session.ydoc.getText('content');
}

function originFor(session) {
  let origin = origins.get(session);
  if (!origin) {
    origin = { assistant: true };
    origins.set(session, origin);
    session.undoManager.addTrackedOrigin(origin);
  }
  return origin;
}

/**
 * Remember a range of the document (Monaco offsets `from`..`to`). Inserts right at either
 * edge stay outside the range; anything typed inside it changes its text.
 */
export function trackRange(session, from, to) {
  const ytext = ytextOf(session);
  const text = ytext.toString();
  const start = Y.createRelativePositionFromTypeIndex(ytext, from, 0);
  const end = from === to ? start : Y.createRelativePositionFromTypeIndex(ytext, to, -1);
  return { start, end, original: text.slice(from, to) };
}

/** Where a tracked range is now: {from, to, text}, or null if it cannot be found. */
export function resolveRange(session, tracked) {
  const ytext = ytextOf(session);
  const start = Y.createAbsolutePositionFromRelativePosition(tracked.start, session.ydoc);
  const end = Y.createAbsolutePositionFromRelativePosition(tracked.end, session.ydoc);
  if (!start || !end || start.type !== ytext || end.type !== ytext) return null;
  const from = start.index;
  const to = Math.max(from, end.index);
  return { from, to, text: ytext.toString().slice(from, to) };
}

/** True when the tracked range still holds exactly the text it held when it was taken. */
export function isUnchanged(session, tracked) {
  const now = resolveRange(session, tracked);
  return now !== null && now.text === tracked.original;
}

/**
 * Replace the tracked range with `text`, if its text is unchanged. Returns true when it
 * was applied, false when the range changed (nothing is written then).
 */
export function applyToRange(session, tracked, text) {
  const now = resolveRange(session, tracked);
  if (!now || now.text !== tracked.original) return false;
  const ytext = ytextOf(session);
  const { undoManager } = session;
  const origin = originFor(session);
  showMarker(session, now.from, now.to);
  // Its own undo step: nothing typed just before or after merges into it.
  undoManager.stopCapturing();
  session.ydoc.transact(() => {
    if (now.to > now.from) ytext.delete(now.from, now.to - now.from);
    if (text) ytext.insert(now.from, text);
  }, origin);
  undoManager.stopCapturing();
  showMarker(session, now.from, now.from + text.length);
  return true;
}

/** Publish the assistant's range on this user's awareness state for a few seconds. */
function showMarker(session, from, to) {
  const ytext = ytextOf(session);
  const awareness = session.provider.awareness;
  awareness.setLocalStateField('assistant', {
    anchor: Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(ytext, from, 0)),
    head: Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(ytext, to, -1)),
  });
  clearTimeout(markerTimers.get(session));
  markerTimers.set(
    session,
    setTimeout(() => {
      if (awareness.getLocalState()) awareness.setLocalStateField('assistant', null);
    }, MARKER_MS),
  );
}
