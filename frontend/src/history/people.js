// Names, colours and times of the people in a file's history. Colours come from profiles,
// so only a plain #rrggbb value is used, through classes of one generated stylesheet (the
// CSP allows style elements, not style attributes).

import { toDate, absoluteTime, relativeTime } from '../format/time.js';
import { avatarColor, displayNameOf, normaliseColor } from '../ui/avatar.js';

export function nameOf(user) {
  return user ? displayNameOf(user) : 'Unknown (before history was kept)';
}

const VIA = { assistant: 'assistant for', restore: 'restore by' };

/** "Alice", "assistant for Bob", "restore by Alice". */
export function authorLabel({ user, via }) {
  return VIA[via] ? `${VIA[via]} ${nameOf(user)}` : nameOf(user);
}

/** The people of a version, or of a merged span, in one short line. */
export function authorsLabel(authors) {
  const labels = [...new Set((authors ?? []).map(authorLabel))];
  if (!labels.length) return 'no author recorded';
  return labels.length > 3 ? `${labels.slice(0, 3).join(', ')} and ${labels.length - 3} more` : labels.join(', ');
}

export function timeLabel(ms) {
  const date = toDate(ms);
  return date ? absoluteTime(date) : '';
}

export function ago(ms) {
  const date = toDate(ms);
  return date ? relativeTime(date) : '';
}

/** A stylesheet of `.cc-person-N` colour classes, one per user met so far. */
export function createPersonColors(signal) {
  const style = document.createElement('style');
  style.dataset.historyColors = '';
  document.head.append(style);
  const classes = new Map(); // user id -> class
  const rules = [];
  signal.addEventListener('abort', () => style.remove(), { once: true });
  return {
    classFor(user) {
      const key = user?.id ?? 'nobody';
      let name = classes.get(key);
      if (!name) {
        name = `cc-person-${classes.size}`;
        classes.set(key, name);
        const color = user ? normaliseColor(user.color) || avatarColor(user) : '#94a3b8';
        rules.push(`.${name}{--cc-person:${color}}`);
        style.textContent = rules.join('\n');
      }
      return name;
    },
  };
}

/** Text for a Monaco hover (MarkdownString), with Markdown's special characters escaped. */
export function markdownText(text) {
  return String(text).replace(/[\\`*_{}[\]()#+\-.!<>|~&]/g, (c) => `\\${c}`);
}
