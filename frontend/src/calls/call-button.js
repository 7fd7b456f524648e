// "Audio call" and "Video call" buttons: the messages thread puts
// `callButtons({callee, conversation_id})` next to the other person's name; a workspace puts
// `callButtons({workspace_id, name: 'everyone here'})` in its header (joins the workspace's
// call when one is on).

import { h } from '../dom.js';
import { calls } from './call-controller.js';
import { startCall } from './start-calls.js';
import { icon } from './icons.js';

const BUTTON =
  'inline-flex size-9 items-center justify-center rounded-md text-muted hover:bg-subtle hover:text-fg disabled:opacity-50';

/**
 * @param {{callee?: string, conversation_id?: string, workspace_id?: string, name?: string, signal?: AbortSignal}} o
 *   `signal`: the view's; the buttons stop following the call state when it aborts.
 */
export function callButtons({ callee, conversation_id, workspace_id, name = callee, signal }) {
  const make = (media) =>
    h(
      'button',
      {
        type: 'button',
        class: BUTTON,
        'aria-label': `${media === 'video' ? 'Video' : 'Audio'} call ${name}`,
        title: `${media === 'video' ? 'Video' : 'Audio'} call`,
        dataset: { callButton: media },
        onClick: () => startCall(workspace_id ? { workspace_id, media } : { callee, media, conversation_id }),
      },
      icon(media === 'video' ? 'video' : 'phone', 'size-5'),
    );
  const audio = make('audio');
  const video = make('video');
  const group = h('div', { class: 'flex items-center gap-1', dataset: { callButtons: '' } }, audio, video);
  let seen = false;
  const unsubscribe = calls.subscribe((state) => {
    // Without a signal: stop once the buttons were on the page and are gone.
    if (group.isConnected) seen = true;
    else if (seen) return unsubscribe();
    audio.disabled = state.phase !== 'idle';
    video.disabled = state.phase !== 'idle';
  });
  signal?.addEventListener('abort', unsubscribe, { once: true });
  return group;
}
