// Tell the other tabs of this browser that this tab signed in or out, so they follow.
// Only the event is sent, never a token: a tab that hears "signed-in" asks the server
// for its own access token with the shared refresh cookie.

const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('collabcode.auth') : null;

/** @param {'signed-in'|'signed-out'} type */
export function broadcastAuth(type) {
  channel?.postMessage({ type });
}

/** Call `listener(type)` for every event another tab broadcasts. */
export function onAuthBroadcast(listener) {
  channel?.addEventListener('message', (event) => {
    const type = event.data?.type;
    if (type === 'signed-in' || type === 'signed-out') listener(type);
  });
}
