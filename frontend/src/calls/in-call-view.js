// The in-call view: a tile per other participant, the local preview, the call timer and
// connection quality, and the controls (microphone, camera, screen, devices, hang up).
// Built once per call and updated in place, so video elements never restart.

import { h } from '../dom.js';
import { avatar, displayNameOf } from '../ui/avatar.js';
import { formatDuration } from './call-controller.js';
import { icon } from './icons.js';
import { listDevices } from './media.js';
import { HANGUP_BUTTON, ROUND_BUTTON, attachStream, controlButton, showsVideo, videoElement } from './ui-parts.js';

const CONNECTION_TEXT = {
  ringing: 'Ringing…',
  waiting: 'Joining…',
  connecting: 'Connecting…',
  reconnecting: 'Reconnecting…',
  failed: 'Connection lost',
  connected: '',
  closed: 'Left',
};

const QUALITY = {
  good: { text: 'Good connection', dot: 'bg-green-500' },
  fair: { text: 'Unstable connection', dot: 'bg-amber-400' },
  poor: { text: 'Poor connection', dot: 'bg-red-500' },
  unknown: { text: 'Measuring connection…', dot: 'bg-slate-400' },
};
const RANK = { poor: 3, fair: 2, good: 1, unknown: 0 };
const FULL = 'group fixed inset-0 z-50 flex flex-col bg-slate-950 text-white';
const COMPACT =
  'group fixed right-4 bottom-4 z-50 flex h-80 w-[min(22rem,calc(100vw-2rem))] flex-col overflow-hidden rounded-xl bg-slate-950 text-white shadow-2xl ring-1 ring-white/20';

function remoteTile(userId) {
  const video = videoElement({ className: 'size-full object-contain' });
  video.dataset.remoteVideo = userId;
  const placeholder = h('div', { class: 'absolute inset-0 flex flex-col items-center justify-center gap-3' });
  const label = h('span', { class: 'rounded-md bg-black/60 px-2 py-0.5 text-sm' });
  const el = h(
    'div',
    { class: 'relative min-h-0 overflow-hidden rounded-xl bg-slate-900', dataset: { remoteTile: userId } },
    video,
    placeholder,
    h('div', { class: 'absolute bottom-2 left-2 flex items-center gap-2' }, label),
  );
  let placeholderFor = '';
  let watched = null;
  const refresh = () => {
    placeholder.hidden = showsVideo(video.srcObject);
  };
  return {
    el,
    video,
    update(remote) {
      const name = displayNameOf(remote.participant);
      const state = CONNECTION_TEXT[remote.connection] ?? '';
      label.textContent = state ? `${name} · ${state}` : name;
      if (placeholderFor !== name) {
        placeholderFor = name;
        placeholder.replaceChildren(avatar(remote.participant, 'large'), h('span', { class: 'text-sm text-slate-300' }, name));
      }
      attachStream(video, remote.stream);
      if (remote.stream && watched !== remote.stream) {
        watched = remote.stream;
        // Remote video goes "muted" when frames stop (camera off, screen share ending).
        for (const track of remote.stream.getTracks()) {
          track.addEventListener('mute', refresh);
          track.addEventListener('unmute', refresh);
        }
        remote.stream.addEventListener('addtrack', ({ track }) => {
          track.addEventListener('mute', refresh);
          track.addEventListener('unmute', refresh);
          refresh();
        });
      }
      refresh();
    },
  };
}

function devicePanel(controller) {
  const makeSelect = (id, label, kind) => {
    const select = h('select', {
      id,
      class: 'mt-1 block w-full rounded-md border border-white/20 bg-slate-900 px-2 py-1.5 text-sm text-white',
      dataset: { deviceSelect: kind },
    });
    const field = h('div', null, h('label', { for: id, class: 'text-sm font-medium' }, label), select);
    return { select, field };
  };
  const mic = makeSelect('call-mic-select', 'Microphone', 'audio');
  const cam = makeSelect('call-camera-select', 'Camera', 'video');
  const speaker = makeSelect('call-speaker-select', 'Speaker', 'speaker');
  const canPickSpeaker = typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;
  const el = h(
    'div',
    {
      id: 'call-device-panel',
      hidden: true,
      class: 'absolute bottom-2 left-1/2 z-10 w-72 -translate-x-1/2 space-y-3 rounded-lg border border-white/15 bg-slate-800 p-4 shadow-xl',
      dataset: { devicePanel: '' },
    },
    h('h3', { class: 'font-semibold' }, 'Devices'),
    mic.field,
    cam.field,
    canPickSpeaker ? speaker.field : null,
  );
  const fill = (select, list, current) => {
    select.replaceChildren(...list.map((d) => h('option', { value: d.id }, d.label)));
    if (list.length === 0) select.append(h('option', { value: '' }, 'None found'));
    select.disabled = list.length === 0;
    if (current && list.some((d) => d.id === current)) select.value = current;
  };
  const load = async () => {
    const devices = await listDevices();
    const stream = controller.state.localStream;
    const currentMic = stream?.getAudioTracks()[0]?.getSettings().deviceId ?? controller.state.devices.audio;
    const currentCam = stream?.getVideoTracks()[0]?.getSettings().deviceId ?? controller.state.devices.video;
    fill(mic.select, devices.audioinput, currentMic);
    fill(cam.select, devices.videoinput, currentCam);
    fill(speaker.select, devices.audiooutput, '');
  };
  mic.select.addEventListener('change', () => controller.switchDevice('audio', mic.select.value));
  cam.select.addEventListener('change', () => controller.switchDevice('video', cam.select.value));
  speaker.select.addEventListener('change', () => {
    for (const video of document.querySelectorAll('[data-remote-video]')) video.setSinkId(speaker.select.value).catch(() => {});
  });
  return { el, load };
}

/** @param {import('./call-controller.js').calls} controller */
export function inCallView(controller) {
  const title = h('h2', { id: 'call-title', class: 'truncate font-semibold' });
  const timer = h('span', { class: 'tabular-nums text-slate-300', dataset: { callTimer: '' } });
  const qualityDot = h('span', { class: 'size-2.5 rounded-full bg-slate-400', 'aria-hidden': 'true' });
  const qualityText = h('span', { class: 'group-data-[compact=true]:sr-only' });
  const qualityDetail = h('span', { class: 'hidden text-slate-400 tabular-nums sm:inline' });
  const quality = h(
    'span',
    { class: 'ml-auto flex items-center gap-2 rounded-full bg-white/10 px-3 py-1 text-sm', dataset: { callQuality: 'unknown' } },
    qualityDot,
    qualityText,
    qualityDetail,
  );
  const grid = h('div', { class: 'grid min-h-0 flex-1 auto-rows-fr gap-3 px-3', dataset: { remoteGrid: '' } });
  const localVideo = videoElement({ local: true, className: 'size-full object-cover' });
  const localLabel = h('span', { class: 'absolute bottom-1.5 left-1.5 rounded bg-black/60 px-1.5 py-0.5 text-xs' }, 'You');
  const localOff = h('div', { class: 'absolute inset-0 flex items-center justify-center text-xs text-slate-300', hidden: true }, 'Camera off');
  const localBox = h(
    'div',
    { class: 'absolute right-6 bottom-30 aspect-video w-36 group-data-[compact=true]:hidden overflow-hidden rounded-lg bg-slate-800 shadow-lg ring-1 ring-white/20 sm:w-56', dataset: { localPreview: '' } },
    localVideo,
    localOff,
    localLabel,
  );
  const alert = h('p', { class: 'mx-3 mb-2 rounded-md bg-red-900/70 px-3 py-2 text-sm', role: 'alert', hidden: true, dataset: { callError: '' } });
  const remark = h('p', { class: 'mx-3 mb-2 rounded-md bg-white/10 px-3 py-2 text-sm', hidden: true });
  // Joins, leaves and connection trouble, read out by screen readers (the tiles only show them).
  const announcer = h('div', { class: 'sr-only', 'aria-live': 'polite', dataset: { callAnnouncer: '' } });
  const heard = new Map(); // user id -> {connection, name} last announced

  const mic = controlButton({ iconName: 'mic', label: 'Mute', pressed: false, dataset: { callMic: '' }, onClick: () => controller.toggleMic() });
  const cam = controlButton({ iconName: 'video', label: 'Camera off', pressed: false, dataset: { callCamera: '' }, onClick: () => controller.toggleCamera() });
  const share = controlButton({
    className: `${ROUND_BUTTON} data-[sharing=true]:bg-green-600 data-[sharing=true]:hover:bg-green-500`,
    iconName: 'screen',
    label: 'Share screen',
    dataset: { callShare: '' },
    onClick: () => (controller.state.sharing ? controller.stopShare() : controller.startShare()),
  });
  const devices = devicePanel(controller);
  const devicesButton = controlButton({ iconName: 'sliders', label: 'Devices', dataset: { callDevices: '' } });
  devicesButton.wrap.classList.add('group-data-[compact=true]:hidden');
  devicesButton.button.setAttribute('aria-expanded', 'false');
  devicesButton.button.setAttribute('aria-controls', 'call-device-panel');
  devicesButton.button.addEventListener('click', () => {
    const open = devices.el.hidden;
    devices.el.hidden = !open;
    devicesButton.button.setAttribute('aria-expanded', String(open));
    if (open) devices.load().then(() => devices.el.querySelector('select')?.focus());
  });
  const hangUp = controlButton({ iconName: 'hangUp', label: 'Hang up', className: HANGUP_BUTTON, dataset: { callHangup: '' }, onClick: () => controller.hangUp() });
  if (!navigator.mediaDevices?.getDisplayMedia) share.wrap.hidden = true;

  const sizeButton = h('button', {
    type: 'button',
    class: 'rounded-md p-1.5 text-slate-300 hover:bg-white/10 hover:text-white',
    dataset: { callSize: '' },
  });
  const el = h(
    'section',
    { 'aria-labelledby': 'call-title', class: FULL, dataset: { callView: '', compact: 'false' } },
    announcer,
    h('header', { class: 'flex items-center gap-3 px-4 py-3 group-data-[compact=true]:px-3 group-data-[compact=true]:py-2' }, title, timer, quality, sizeButton),
    remark,
    grid,
    localBox,
    h('div', { class: 'relative group-data-[compact=true]:hidden' }, devices.el),
    alert,
    h(
      'div',
      {
        role: 'toolbar',
        'aria-label': 'Call controls',
        class: 'flex flex-wrap justify-center gap-2 px-3 pt-3 pb-5 group-data-[compact=true]:pt-2 group-data-[compact=true]:pb-3',
      },
      mic.wrap,
      cam.wrap,
      share.wrap,
      devicesButton.wrap,
      hangUp.wrap,
    ),
  );
  // Minimised, the call floats in a corner so the page under it (the editor) can be used.
  let compact = false;
  const setCompact = (value) => {
    compact = value;
    el.dataset.compact = String(value);
    el.className = value ? COMPACT : FULL;
    document.body.classList.toggle('call-open', !value);
    sizeButton.replaceChildren(icon(value ? 'maximize' : 'minimize', 'size-5'));
    sizeButton.setAttribute('aria-label', value ? 'Expand the call' : 'Minimise the call');
    sizeButton.title = value ? 'Expand' : 'Minimise';
    devices.el.hidden = true;
    devicesButton.button.setAttribute('aria-expanded', 'false');
  };
  sizeButton.addEventListener('click', () => {
    setCompact(!compact);
    sizeButton.focus();
  });
  setCompact(false);

  el.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !devices.el.hidden) {
      devices.el.hidden = true;
      devicesButton.button.setAttribute('aria-expanded', 'false');
      devicesButton.button.focus();
    }
  });

  const tiles = new Map();
  let latest = controller.state;
  const tick = () => {
    timer.textContent = latest.phase === 'active' && latest.activeSince ? formatDuration(Date.now() - latest.activeSince) : '';
  };
  const clock = setInterval(tick, 1000);

  return {
    el,
    afterMount: () => mic.button.focus(), // not Hang up: a held Enter from Accept must not end the call
    update(state) {
      latest = state;
      title.textContent = state.call ? `Call with ${controller.othersName(state.call)}` : 'Call';
      tick();

      // Remote tiles, one per other participant.
      for (const [id, remote] of state.remotes) {
        let tile = tiles.get(id);
        if (!tile) {
          tile = remoteTile(id);
          tiles.set(id, tile);
          grid.append(tile.el);
        }
        tile.update(remote);
      }
      for (const [id, tile] of tiles) {
        if (!state.remotes.has(id)) {
          tile.video.srcObject = null;
          tile.el.remove();
          tiles.delete(id);
        }
      }
      grid.className = `grid min-h-0 flex-1 auto-rows-fr gap-3 px-3 ${tiles.size > 1 ? 'sm:grid-cols-2' : 'grid-cols-1'}`;
      if (tiles.size === 0) grid.replaceChildren(h('p', { class: 'self-center text-center text-slate-300' }, 'Connecting…'));
      else grid.querySelector(':scope > p')?.remove();

      const news = [];
      for (const [id, remote] of state.remotes) {
        const name = displayNameOf(remote.participant);
        const before = heard.get(id)?.connection;
        if (remote.connection === before) continue;
        heard.set(id, { connection: remote.connection, name });
        if (remote.connection === 'connected') news.push(before === 'reconnecting' ? `${name} is back.` : `${name} joined the call.`);
        else if (remote.connection === 'reconnecting') news.push(`Connection to ${name} lost, reconnecting…`);
      }
      for (const [id, { connection, name }] of heard) {
        if (state.remotes.has(id)) continue;
        heard.delete(id);
        if (connection === 'connected' || connection === 'reconnecting') news.push(`${name} left the call.`);
      }
      if (news.length) announcer.textContent = news.join(' ');

      // Quality: the worst of the connections.
      let worst = null;
      for (const remote of state.remotes.values()) {
        if (remote.quality && (!worst || RANK[remote.quality.level] > RANK[worst.level])) worst = remote.quality;
      }
      const level = state.phase === 'active' && worst ? worst.level : 'unknown';
      quality.dataset.callQuality = level;
      qualityDot.className = `size-2.5 rounded-full ${QUALITY[level].dot}`;
      qualityText.textContent = state.phase === 'accepting' ? 'Connecting…' : QUALITY[level].text;
      const details = [];
      if (worst?.rttMs != null) details.push(`round trip ${worst.rttMs} ms`);
      if (worst?.lossPercent != null) details.push(`packet loss ${worst.lossPercent} %`);
      quality.title = details.join(', ');
      qualityDetail.textContent = worst?.rttMs != null && state.phase === 'active' ? `${worst.rttMs < 1 ? '<1' : worst.rttMs} ms` : '';

      // Local preview: the shared screen while sharing (not mirrored), else the camera.
      const preview = controller.previewStream();
      attachStream(localVideo, preview);
      localVideo.classList.toggle('-scale-x-100', !state.sharing);
      localLabel.textContent = state.sharing ? 'You · sharing your screen' : 'You';
      localOff.hidden = state.sharing || (controller.hasCamera() && !state.cameraOff);
      localOff.textContent = controller.hasCamera() ? 'Camera off' : state.call?.media === 'audio' ? 'Audio only' : 'No camera';

      mic.set({ pressed: state.micMuted, iconName: state.micMuted ? 'micOff' : 'mic' });
      cam.set({ pressed: state.cameraOff || !controller.hasCamera(), iconName: state.cameraOff || !controller.hasCamera() ? 'videoOff' : 'video' });
      share.set({
        label: state.sharing ? 'Stop sharing' : 'Share screen',
        iconName: state.sharing ? 'screenOff' : 'screen',
        disabled: state.phase !== 'active',
      });
      share.button.dataset.sharing = String(state.sharing);

      alert.hidden = !state.error;
      alert.textContent = state.error;
      remark.hidden = !state.notice;
      remark.textContent = state.notice;
    },
    destroy() {
      clearInterval(clock);
      localVideo.srcObject = null;
      for (const tile of tiles.values()) tile.video.srcObject = null;
      el.remove();
    },
  };
}
