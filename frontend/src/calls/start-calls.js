// The calls code is loaded on demand, to keep the first page load small: when the first
// call frame arrives, when someone starts a call, or shortly after sign-in when the
// browser is idle (so an incoming call shows without delay). Call frames that arrive while
// it loads are handed over, in order.

import { getSession, onSessionChange } from '../auth/session.js';
import { events } from '../events/events-socket.js';

const EARLY_TYPES = ['call.ringing', 'call.updated', 'call.ended'];

let loading = null;
let ready = false;
const early = [];

function load() {
  loading ??= import('./call-ui.js').then(
    (module) => {
      ready = true;
      module.startCallUi(early.splice(0));
      return module;
    },
    (error) => {
      loading = null; // a later frame or click tries again
      throw error;
    },
  );
  return loading;
}

/** Called once by the app shell. */
export function startCalls() {
  for (const type of EARLY_TYPES) {
    events.on(type, (frame) => {
      if (ready) return;
      early.push(frame);
      load().catch(() => {});
    });
  }
  const preload = () => {
    const idle = window.requestIdleCallback ?? ((fn) => setTimeout(fn, 2000));
    idle(() => load().catch(() => {}));
  };
  if (getSession().status === 'signed-in') preload();
  else {
    let done = false;
    onSessionChange((state) => {
      if (!done && state.status === 'signed-in') {
        done = true;
        preload();
      }
    });
  }
}

/**
 * Start a call from anywhere: `{callee: username, conversation_id?, media}` for a person or
 * `{workspace_id, media}` for a workspace. Problems are shown by the call screens.
 */
export async function startCall(options) {
  const module = await load();
  return module.startCall(options);
}
