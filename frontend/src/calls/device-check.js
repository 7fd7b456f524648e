// The pre-call device check: see your camera, watch the microphone level move, pick
// other devices, before calling anyone. Nothing is sent anywhere.

import { h } from '../dom.js';
import { calls } from './call-controller.js';
import { getLocalMedia, listDevices, meterLevel, onDeviceChange, stopStream } from './media.js';

const BUTTON = 'rounded-md border border-line bg-surface px-3 py-1.5 text-sm font-medium hover:bg-subtle disabled:opacity-60';
const PRIMARY = 'rounded-md bg-accent px-3 py-1.5 text-sm font-semibold text-on-accent hover:bg-accent-strong disabled:opacity-60';
const SELECT = 'mt-1 block w-full rounded-md border border-line bg-canvas px-2 py-1.5 text-sm text-fg disabled:opacity-60';

/** @param {AbortSignal} signal  the page's: leaving the page stops the check */
export function deviceCheck(signal) {
  const video = h('video', { autoplay: true, playsinline: true, class: 'size-full -scale-x-100 object-cover', dataset: { checkVideo: '' } });
  video.muted = true;
  const videoEmpty = h('p', { class: 'absolute inset-0 flex items-center justify-center p-4 text-center text-sm text-slate-300' }, 'Camera preview');
  const bar = h('div', { class: 'h-full w-0 rounded-full bg-green-500 transition-[width] duration-75' });
  const meter = h(
    'div',
    {
      role: 'meter',
      'aria-label': 'Microphone level',
      'aria-valuemin': '0',
      'aria-valuemax': '100',
      'aria-valuenow': '0',
      class: 'h-2.5 w-full overflow-hidden rounded-full bg-subtle',
      dataset: { micLevel: '0' },
    },
    bar,
  );
  const notYet = () => h('option', { value: '' }, 'Start the test to choose');
  const micSelect = h('select', { id: 'check-mic', class: SELECT, disabled: true }, notYet());
  const camSelect = h('select', { id: 'check-camera', class: SELECT, disabled: true }, notYet());
  const message = h('div', { class: 'min-h-5 text-sm', 'aria-live': 'polite', dataset: { checkMessage: '' } });
  const start = h('button', { type: 'button', class: PRIMARY, dataset: { checkStart: '' } }, 'Test camera and microphone');
  const stop = h('button', { type: 'button', class: BUTTON, hidden: true, dataset: { checkStop: '' } }, 'Stop');

  let stream = null;
  let stopMeter = () => {};
  let running = false;

  const fill = (select, list, current) => {
    select.replaceChildren(...list.map((d) => h('option', { value: d.id }, d.label)));
    if (list.length === 0) select.append(h('option', { value: '' }, 'None found'));
    select.disabled = !running || list.length === 0;
    if (current && list.some((d) => d.id === current)) select.value = current;
  };
  const refreshDevices = async () => {
    const devices = await listDevices();
    fill(micSelect, devices.audioinput, stream?.getAudioTracks()[0]?.getSettings().deviceId);
    fill(camSelect, devices.videoinput, stream?.getVideoTracks()[0]?.getSettings().deviceId);
  };
  const halt = () => {
    running = false;
    stopMeter();
    stopMeter = () => {};
    stopStream(stream);
    stream = null;
    video.srcObject = null;
    videoEmpty.hidden = false;
    bar.style.width = '0%';
    meter.setAttribute('aria-valuenow', '0');
    micSelect.disabled = true;
    camSelect.disabled = true;
    start.hidden = false;
    stop.hidden = true;
  };
  const run = async () => {
    if (calls.state.phase !== 'idle') {
      message.className = 'min-h-5 text-sm text-muted';
      message.textContent = 'Your devices are in use by the current call.';
      return;
    }
    start.disabled = true;
    message.textContent = '';
    const previous = stream;
    try {
      const result = await getLocalMedia({ video: true, audioDeviceId: micSelect.value, videoDeviceId: camSelect.value });
      if (signal.aborted) return stopStream(result.stream);
      stopStream(previous);
      stopMeter();
      stream = result.stream;
      running = true;
      video.srcObject = stream;
      videoEmpty.hidden = stream.getVideoTracks().length > 0;
      videoEmpty.textContent = 'No camera';
      stopMeter = meterLevel(stream.getAudioTracks()[0], (level) => {
        const percent = Math.round(level * 100);
        bar.style.width = `${percent}%`;
        meter.setAttribute('aria-valuenow', String(percent));
        meter.dataset.micLevel = String(percent);
      });
      message.className = 'min-h-5 text-sm text-ok';
      message.textContent = result.fallback || 'Your camera and microphone work. Speak to see the level move.';
      if (result.fallback) message.className = 'min-h-5 text-sm text-wait';
      start.hidden = true;
      stop.hidden = false;
      await refreshDevices();
      // Choosing the devices here also chooses them for the next call.
      calls.chooseDevices({ audio: micSelect.value, video: camSelect.value });
    } catch (error) {
      halt();
      message.className = 'min-h-5 text-sm text-bad';
      message.setAttribute('role', 'alert');
      message.textContent = error.message || 'Your camera and microphone could not be started.';
    } finally {
      start.disabled = false;
    }
  };

  start.addEventListener('click', run);
  stop.addEventListener('click', () => {
    halt();
    message.textContent = '';
    start.focus();
  });
  micSelect.addEventListener('change', run);
  camSelect.addEventListener('change', run);
  const unwatch = onDeviceChange(() => running && refreshDevices());
  signal.addEventListener('abort', () => {
    halt();
    unwatch();
  });

  return h(
    'section',
    { 'aria-labelledby': 'device-check-title', class: 'rounded-lg border border-line bg-surface p-5', dataset: { deviceCheck: '' } },
    h('h2', { id: 'device-check-title', class: 'text-lg font-semibold' }, 'Check your camera and microphone'),
    h('p', { class: 'mt-1 text-sm text-muted' }, 'A private preview before a call. Nothing is sent to anyone.'),
    h(
      'div',
      { class: 'mt-4 grid gap-4 md:grid-cols-[minmax(0,1fr)_16rem]' },
      h('div', { class: 'relative aspect-video overflow-hidden rounded-lg bg-slate-900' }, video, videoEmpty),
      h(
        'div',
        { class: 'flex flex-col gap-3' },
        h('div', null, h('label', { for: 'check-mic', class: 'text-sm font-medium' }, 'Microphone'), micSelect),
        h('div', null, h('span', { class: 'text-sm font-medium',}, 'Level'), h('div', { class: 'mt-2' }, meter)),
        h('div', null, h('label', { for: 'check-camera', class: 'text-sm font-medium' }, 'Camera'), camSelect),
        h('div', { class: 'flex gap-2' }, start, stop),
        message,
      ),
    ),
  );
}
