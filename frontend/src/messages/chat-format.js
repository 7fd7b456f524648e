// Dates and presence as the messages view shows them.

import { relativeTime, toDate } from '../format/time.js';

const TIME = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const WEEKDAY = new Intl.DateTimeFormat(undefined, { weekday: 'long' });
const SHORT_DATE = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
const FULL = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });

function startOfDay(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
}

/** Whole days between `date` and today (0 today, 1 yesterday). */
function daysAgo(date, now = new Date()) {
  return Math.round((startOfDay(now) - startOfDay(date)) / 86400000);
}

/** The key of the local day a message belongs to. */
export function dayKey(iso) {
  const date = toDate(iso);
  return date ? `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}` : '';
}

/** "Today", "Yesterday", a weekday this week, else a date. */
export function dayLabel(iso) {
  const date = toDate(iso);
  if (!date) return '';
  const days = daysAgo(date);
  if (days === 0) return 'Today';
  if (days === 1) return 'Yesterday';
  if (days > 1 && days < 7) return WEEKDAY.format(date);
  return SHORT_DATE.format(date);
}

export function clockTime(iso) {
  const date = toDate(iso);
  return date ? TIME.format(date) : '';
}

export function fullTime(iso) {
  const date = toDate(iso);
  return date ? FULL.format(date) : '';
}

/** A conversation list's time: the clock time today, else the day. */
export function listTime(iso) {
  const date = toDate(iso);
  if (!date) return '';
  return daysAgo(date) === 0 ? TIME.format(date) : dayLabel(iso);
}

/** "online", "away", "last seen 5 minutes ago", or "" when unknown. */
export function presenceText(presence) {
  if (!presence) return '';
  if (presence.status === 'online') return 'online';
  if (presence.status === 'away') return 'away';
  const seen = toDate(presence.last_seen_at);
  return seen ? `last seen ${relativeTime(seen)}` : '';
}

/** True while a message sent at `iso` may still be edited (15 minutes; a little margin for clocks). */
export function editable(iso, now = Date.now()) {
  const date = toDate(iso);
  return Boolean(date) && now - date.getTime() < 14.5 * 60 * 1000;
}
