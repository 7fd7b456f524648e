// Run the events socket while the tab is signed in, and tell the server whether this tab is in
// use: "away" while it is hidden or nobody touched it for a while, "online" otherwise
// (`presence.set` is about this socket only; the server combines all of a person's sockets).

import { getSession, onSessionChange } from '../auth/session.js';
import { events } from './events-socket.js';

const IDLE_MS = 5 * 60 * 1000;
const ACTIVITY_EVENTS = ['pointerdown', 'keydown', 'wheel', 'touchstart', 'mousemove'];

function startPresenceReporting() {
  let reported = null;
  let idle = false;
  let idleTimer = 0;
  let lastActivity = 0;

  const current = () => (document.visibilityState === 'hidden' || idle ? 'away' : 'online');
  const report = (force = false) => {
    const state = current();
    if (!force && state === reported) return;
    if (events.send({ type: 'presence.set', state })) reported = state;
  };
  const armIdle = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      idle = true;
      report();
    }, IDLE_MS);
  };
  const onActivity = () => {
    const now = Date.now();
    if (now - lastActivity < 1000 && !idle) return; // mousemove fires often: re-arm at most once a second
    lastActivity = now;
    idle = false;
    armIdle();
    report();
  };

  for (const type of ACTIVITY_EVENTS) window.addEventListener(type, onActivity, { passive: true, capture: true });
  document.addEventListener('visibilitychange', () => report());
  // A new socket starts as online on the server: tell it at once when this tab is not.
  events.on('hello', () => {
    reported = 'online';
    if (current() !== 'online') report(true);
  });
  armIdle();
}

/** Start the events socket on sign-in and stop it on sign-out, for the life of the page. */
export function startEventsWhenSignedIn() {
  let userId = null;
  const follow = (state) => {
    if (state.status === 'signed-in') {
      // Another account signed in in this tab: the old socket (and cursor) belong to the old one.
      if (userId !== null && state.user?.id !== userId) events.stop();
      userId = state.user?.id ?? null;
      events.start();
    } else if (state.status === 'signed-out') {
      userId = null;
      events.stop();
    }
  };
  onSessionChange(follow);
  follow(getSession());
  window.addEventListener('online', () => events.reconnectNow());
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') events.reconnectNow();
  });
  // For styles and browser tests: <html data-events-state="connecting|open|closed">.
  document.documentElement.dataset.eventsState = events.state;
  events.onState((state) => {
    document.documentElement.dataset.eventsState = state;
  });
  startPresenceReporting();
}
