// Camera, microphone and screen: getting them with errors a person can act on, listing
// devices, and measuring the microphone level for the device check.

const VIDEO_CONSTRAINTS = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };
const AUDIO_CONSTRAINTS = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

/** An error whose message can be shown as it is. `code`: denied, missing, busy, unsupported, failed. */
export class MediaError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'MediaError';
    this.code = code;
  }
}

function what({ audio, video }) {
  if (audio && video) return 'camera and microphone';
  return video ? 'camera' : 'microphone';
}

/** Translate a getUserMedia/getDisplayMedia failure into a MediaError. */
export function mediaErrorOf(error, kinds) {
  if (error instanceof MediaError) return error;
  const name = error?.name ?? '';
  const thing = what(kinds);
  if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') {
    return new MediaError(
      'denied',
      `Access to your ${thing} is blocked. Allow it for this site in the browser's address bar or site settings, then try again.`,
    );
  }
  if (name === 'NotFoundError' || name === 'DevicesNotFoundError' || name === 'OverconstrainedError') {
    const either = kinds.audio && kinds.video ? 'camera or microphone' : thing;
    return new MediaError('missing', `No ${either} found. Connect one, or choose another in the device settings.`);
  }
  if (name === 'NotReadableError' || name === 'TrackStartError' || name === 'AbortError') {
    return new MediaError('busy', `Your ${thing} could not be started. Another app may be using it.`);
  }
  return new MediaError('failed', `Your ${thing} could not be started.`);
}

function mediaDevices() {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new MediaError(
      'unsupported',
      'This browser cannot use a camera or microphone here. Calls need a secure (https) page in a current browser.',
    );
  }
  return navigator.mediaDevices;
}

/**
 * Local media for a call. `video: false` gives an audio-only stream. A video call with no
 * camera falls back to audio (reported in `fallback`), so a missing camera never blocks a call.
 * @returns {Promise<{stream: MediaStream, fallback: string}>}
 */
export async function getLocalMedia({ video, audioDeviceId = '', videoDeviceId = '' }) {
  const devices = mediaDevices();
  const audio = audioDeviceId ? { ...AUDIO_CONSTRAINTS, deviceId: { exact: audioDeviceId } } : AUDIO_CONSTRAINTS;
  const camera = videoDeviceId ? { ...VIDEO_CONSTRAINTS, deviceId: { exact: videoDeviceId } } : VIDEO_CONSTRAINTS;
  try {
    return { stream: await devices.getUserMedia({ audio, video: video ? camera : false }), fallback: '' };
  } catch (error) {
    if (!video || !['NotFoundError', 'NotReadableError', 'OverconstrainedError'].includes(error?.name)) {
      throw mediaErrorOf(error, { audio: true, video });
    }
    const cameraProblem = mediaErrorOf(error, { video: true });
    try {
      const stream = await devices.getUserMedia({ audio, video: false });
      return { stream, fallback: `${cameraProblem.message} The call continues with audio only.` };
    } catch (audioError) {
      // Neither works: say so about both when both are missing.
      const bothMissing = cameraProblem.code === 'missing' && mediaErrorOf(audioError, { audio: true }).code === 'missing';
      throw mediaErrorOf(audioError, { audio: true, video: bothMissing });
    }
  }
}

/** One new track of `kind` from a chosen device (for switching devices mid-call). */
export async function getDeviceTrack(kind, deviceId) {
  const devices = mediaDevices();
  const exact = deviceId ? { deviceId: { exact: deviceId } } : {};
  const constraints =
    kind === 'audio'
      ? { audio: { ...AUDIO_CONSTRAINTS, ...exact }, video: false }
      : { audio: false, video: { ...VIDEO_CONSTRAINTS, ...exact } };
  try {
    const stream = await devices.getUserMedia(constraints);
    return kind === 'audio' ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
  } catch (error) {
    throw mediaErrorOf(error, { audio: kind === 'audio', video: kind === 'video' });
  }
}

/**
 * Microphones, cameras and speakers. Labels are empty until the page has had media access,
 * so unnamed devices get a numbered name.
 */
export async function listDevices() {
  if (!navigator.mediaDevices?.enumerateDevices) return { audioinput: [], videoinput: [], audiooutput: [] };
  const all = await navigator.mediaDevices.enumerateDevices();
  const groups = { audioinput: [], videoinput: [], audiooutput: [] };
  const NAMES = { audioinput: 'Microphone', videoinput: 'Camera', audiooutput: 'Speaker' };
  for (const device of all) {
    const group = groups[device.kind];
    if (!group || !device.deviceId) continue;
    group.push({ id: device.deviceId, label: device.label || `${NAMES[device.kind]} ${group.length + 1}` });
  }
  return groups;
}

/** Call `listener` when a device is plugged in or removed; returns an unsubscribe function. */
export function onDeviceChange(listener) {
  const devices = navigator.mediaDevices;
  if (!devices?.addEventListener) return () => {};
  devices.addEventListener('devicechange', listener);
  return () => devices.removeEventListener('devicechange', listener);
}

/** A screen, window or tab, with its audio where the browser offers it. */
export async function getScreen() {
  if (!navigator.mediaDevices?.getDisplayMedia) {
    throw new MediaError('unsupported', 'This browser cannot share the screen.');
  }
  try {
    return await navigator.mediaDevices.getDisplayMedia({
      video: { frameRate: { ideal: 15, max: 30 } },
      audio: true,
      systemAudio: 'include',
      selfBrowserSurface: 'exclude',
      surfaceSwitching: 'include',
    });
  } catch (error) {
    if (error?.name === 'NotAllowedError') {
      // Closing the picker is a choice, not a fault; a blocked permission says so.
      throw new MediaError('cancelled', 'Screen sharing was cancelled or is blocked for this site.');
    }
    if (error?.name === 'NotReadableError') throw new MediaError('busy', 'The screen could not be captured.');
    throw new MediaError('failed', 'Screen sharing could not start.');
  }
}

/** Stop every track of a stream (releases the camera and microphone lights). */
export function stopStream(stream) {
  for (const track of stream?.getTracks() ?? []) track.stop();
}

/**
 * Measure the loudness of an audio track, 0..1, about 20 times a second.
 * Returns a stop function. The AudioContext is created here, after a user gesture.
 */
export function meterLevel(track, onLevel) {
  const Context = window.AudioContext ?? window.webkitAudioContext;
  if (!Context || !track) return () => {};
  const context = new Context();
  const source = context.createMediaStreamSource(new MediaStream([track]));
  const analyser = context.createAnalyser();
  analyser.fftSize = 512;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  let frame = 0;
  let last = 0;
  const tick = (now) => {
    frame = requestAnimationFrame(tick);
    if (now - last < 50) return;
    last = now;
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    const rms = Math.sqrt(sum / samples.length);
    onLevel(Math.min(1, rms * 4));
  };
  frame = requestAnimationFrame(tick);
  if (context.state === 'suspended') context.resume().catch(() => {});
  return () => {
    cancelAnimationFrame(frame);
    source.disconnect();
    context.close().catch(() => {});
  };
}
