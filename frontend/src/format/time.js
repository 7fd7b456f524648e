// Times from the API come as ISO 8601 strings or as numbers (milliseconds; small numbers
// are taken as seconds since the epoch).

export function toDate(value) {
  let ms = NaN;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim())) ms = Number(value);
  else if (typeof value === 'string') ms = Date.parse(value);
  if (!Number.isFinite(ms)) return null;
  if (ms < 1e11) ms *= 1000; // seconds
  return new Date(ms);
}

const UNITS = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
];
const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/** "just now", "5 minutes ago", "yesterday", ... */
export function relativeTime(date, now = Date.now()) {
  const seconds = (date.getTime() - now) / 1000;
  if (Math.abs(seconds) < 60) return 'just now';
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return 'just now';
}

const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function absoluteTime(date) {
  return absolute.format(date);
}
