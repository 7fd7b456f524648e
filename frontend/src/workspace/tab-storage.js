// Open tabs, the active file, and each open file's cursor and scroll position, per workspace,
// kept in this browser's localStorage (file ids and numbers only, never contents).

const PREFIX = 'collabcode.workspace.v1.';
const MAX_TABS = 20;
const ID = /^[0-9a-f]{32}$/;

const whole = (n, max) => (Number.isSafeInteger(n) && n >= 0 && n <= max ? n : null);

function readPlace(value) {
  const line = whole(value?.line, 10_000_000);
  const column = whole(value?.column, 10_000_000);
  const top = whole(value?.top, 1_000_000_000);
  return line && column && top != null ? { line, column, top } : null;
}

export function loadTabs(workspaceId) {
  try {
    const raw = JSON.parse(localStorage.getItem(PREFIX + workspaceId) ?? 'null');
    const tabs = Array.isArray(raw?.tabs) ? raw.tabs.filter((id) => typeof id === 'string' && ID.test(id)).slice(0, MAX_TABS) : [];
    const active = typeof raw?.active === 'string' && ID.test(raw.active) ? raw.active : null;
    const places = {};
    for (const id of tabs) {
      const place = readPlace(raw?.places?.[id]);
      if (place) places[id] = place;
    }
    return { tabs, active, places };
  } catch {
    return { tabs: [], active: null, places: {} };
  }
}

/** `places`: fileId -> {line, column, top} (cursor and scroll position). */
export function saveTabs(workspaceId, { tabs, active, places = {} }) {
  try {
    const kept = tabs.slice(0, MAX_TABS);
    const keptPlaces = Object.fromEntries(kept.filter((id) => places[id]).map((id) => [id, places[id]]));
    localStorage.setItem(PREFIX + workspaceId, JSON.stringify({ tabs: kept, active, places: keptPlaces }));
  } catch {
    // Storage full or blocked: the tabs are simply not restored next time.
  }
}
