// The one call controller of this tab. It follows the call frames of the events socket
// (call.ringing, call.updated, call.ended, rtc.*), answers the user's actions (call,
// accept, decline, hang up, mute, camera, screen, devices) and keeps one PeerLink per
// other participant (a mesh of up to four people). The UI only reads `state` and calls
// the methods; it never touches a peer connection.

import { ApiError, messageOf } from '../api/api-error.js';
import { getAccessToken, getSession, onSessionChange } from '../auth/session.js';
import { events } from '../events/events-socket.js';
import { toDate } from '../format/time.js';
import { displayNameOf } from '../ui/avatar.js';
import { callAction, callOf, createCall, fetchCall, fetchIceServers } from './calls-api.js';
import { MediaError, getDeviceTrack, getLocalMedia, getScreen, stopStream } from './media.js';
import { PeerLink } from './peer-link.js';
import { qualitySampler } from './quality.js';

/** Participant states that mean "in the call" (the server's words for it). */
const IN_CALL = new Set(['joined', 'active', 'accepted', 'connected', 'in_call']);
const QUALITY_INTERVAL_MS = 2000;
const TOKEN_REFRESH_MS = 60000;
const MAX_MESH = 4;
const FIRST_OFFER_WAIT_MS = 4000;
const FRAME_TYPES = ['call.ringing', 'call.updated', 'call.ended', 'rtc.offer', 'rtc.answer', 'rtc.candidate'];

const END_TEXT = {
  declined: (name) => `${name} declined the call.`,
  busy: (name) => `${name} is in another call.`,
  missed: (name, mine) => (mine ? `${name} did not answer.` : `Missed call from ${name}.`),
  timeout: (name, mine) => (mine ? `${name} did not answer.` : `Missed call from ${name}.`),
  no_answer: (name, mine) => (mine ? `${name} did not answer.` : `Missed call from ${name}.`),
  cancelled: (name, mine) => (mine ? 'Call cancelled.' : `Missed call from ${name}.`),
  failed: () => 'The call could not be connected.',
};

function freshState() {
  return {
    phase: 'idle', // idle | starting | outgoing | incoming | accepting | active
    call: null,
    error: '', // why the last action failed, shown until the next one
    notice: '', // a non-blocking remark (audio-only fallback, device problems)
    ended: '', // what happened to the last call, shown briefly after it ends
    localStream: null,
    remotes: new Map(), // user id -> {participant, stream, connection, quality}
    micMuted: false,
    cameraOff: false,
    sharing: false,
    activeSince: 0, // epoch ms the call became active (the timer)
    devices: { audio: '', video: '' }, // chosen device ids
  };
}

class CallController {
  constructor() {
    this.state = freshState();
    this.listeners = new Set();
    this.links = new Map(); // user id -> PeerLink
    this.samplers = new Map();
    this.iceServers = null;
    this.screenStream = null;
    this.cameraTrack = null;
    this.acceptedHere = false;
    this.qualityTimer = 0;
    this.tokenTimer = 0;
    this.cachedToken = '';
    this.started = false;
    this.whileStarting = new Map(); // call id -> latest call frame seen before our call's id was known
  }

  /**
   * Listen to the events socket; idempotent. `early`: call frames that arrived before this
   * module was loaded (see start-calls.js), handled first.
   */
  start(early = []) {
    if (this.started) return;
    this.started = true;
    for (const type of FRAME_TYPES) events.on(type, (frame) => this.handle(frame));
    events.onState((state) => {
      if (state === 'open') this.resync();
    });
    onSessionChange((session) => {
      if (session.status === 'signed-out' && this.state.phase !== 'idle') this.teardown('');
    });
    window.addEventListener('pagehide', () => this.leaveOnUnload());
    for (const frame of early) this.handle(frame);
  }

  handle(frame) {
    switch (frame?.type) {
      case 'call.ringing':
        return this.onRinging(callOf(frame));
      case 'call.updated':
        return this.onUpdated(callOf(frame));
      case 'call.ended':
        return this.onEnded(callOf(frame));
      case 'rtc.offer':
        return this.onSignal(frame, (link) => link.receiveDescription('offer', frame.sdp));
      case 'rtc.answer':
        return this.onSignal(frame, (link) => link.receiveDescription('answer', frame.sdp));
      case 'rtc.candidate':
        return this.onSignal(frame, (link) => link.receiveCandidate(frame.candidate ?? null));
      default:
        return undefined;
    }
  }

  subscribe(listener) {
    this.listeners.add(listener);
    listener(this.state);
    return () => this.listeners.delete(listener);
  }

  emit(patch = {}) {
    this.state = { ...this.state, ...patch };
    for (const listener of [...this.listeners]) listener(this.state);
  }

  myId() {
    return String(getSession().user?.id ?? '');
  }

  isMine(call) {
    return Boolean(call && this.state.call && call.id === this.state.call.id);
  }

  /** The other people of a call (for names on screen). */
  others(call = this.state.call) {
    const me = this.myId();
    return (call?.participants ?? []).filter((p) => p.user_id !== me);
  }

  /** "Bob", "Bob and Carol", ... */
  othersName(call = this.state.call) {
    const names = this.others(call).map((p) => displayNameOf(p));
    if (names.length === 0) return 'the other person';
    if (names.length === 1) return names[0];
    return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
  }

  // ---- actions -------------------------------------------------------------

  /**
   * Call a person ({callee: username, conversation_id?}) or a workspace ({workspace_id}).
   * @param {{callee?: string, conversation_id?: string, workspace_id?: string, media: 'audio'|'video'}} o
   */
  async startCall({ media = 'video', ...target }) {
    const ringing = this.state.phase === 'incoming' ? this.state.call : null;
    if (ringing && target.callee && ringing.caller.username === target.callee && !ringing.workspace_id) {
      return this.accept(); // calling the person who is calling us: that is answering
    }
    if (this.state.phase !== 'idle') {
      this.emit({ error: 'You are already in a call. Hang up first.' });
      return;
    }
    this.whileStarting.clear();
    this.emit({ ...freshState(), devices: this.state.devices, phase: 'starting' });
    try {
      await this.prepare(media);
      const call = await createCall(target, media);
      if (!call) throw new ApiError(0, 'bad_answer', 'The server gave an unexpected answer.');
      if (this.state.phase !== 'starting') {
        // Hung up while the server was ringing: do not leave the other person ringing.
        if (call.state !== 'ended') callAction(call.id, 'cancel').catch(() => {});
        return;
      }
      // Frames about this call may have overtaken the answer (the other person accepted at once).
      const later = this.whileStarting.get(call.id);
      this.whileStarting.clear();
      this.emit({ phase: call.state === 'active' ? 'active' : 'outgoing', call });
      if (call.state === 'active') this.becameActive(call);
      else if (call.state === 'ended') return this.onEnded(call);
      if (later) this.onUpdated(later);
    } catch (error) {
      if (this.state.phase === 'idle') return; // hung up while starting
      this.teardown('', { error: this.describe(error) });
    }
  }

  async accept() {
    const { call, phase } = this.state;
    if (phase !== 'incoming' || !call) return;
    this.acceptedHere = true;
    this.emit({ phase: 'accepting', error: '' });
    try {
      await this.prepare(call.media);
      const updated = await callAction(call.id, 'accept');
      if (!this.isMine(call) || !['accepting', 'active'].includes(this.state.phase)) {
        // Hung up while the answer was on its way: leave the call we just joined.
        callAction(call.id, 'end').catch(() => {});
        return;
      }
      if (updated?.state === 'ended') return this.onEnded(updated);
      this.becameActive(updated ?? call);
    } catch (error) {
      if (this.state.phase === 'idle') return;
      const message = this.describe(error);
      // Media problems are ours: tell the caller we cannot take it.
      if (error instanceof MediaError) callAction(call.id, 'decline').catch(() => {});
      this.teardown('', { error: message });
    }
  }

  async decline() {
    const { call, phase } = this.state;
    if (phase !== 'incoming' || !call) return;
    this.teardown('');
    await callAction(call.id, 'decline').catch(() => {});
  }

  /** Cancel a ringing call, or leave an active one. */
  async hangUp() {
    const { call, phase } = this.state;
    if (phase === 'incoming') return this.decline();
    if (phase === 'starting') return this.teardown('Call cancelled.');
    if (!call) return this.teardown('');
    const action = phase === 'outgoing' ? 'cancel' : 'end';
    const summary = phase === 'outgoing' ? 'Call cancelled.' : this.summary();
    this.teardown(summary);
    await callAction(call.id, action).catch(() => {});
  }

  toggleMic() {
    const muted = !this.state.micMuted;
    for (const track of this.state.localStream?.getAudioTracks() ?? []) track.enabled = !muted;
    this.emit({ micMuted: muted });
  }

  async toggleCamera() {
    if (!this.cameraTrack) {
      // An audio call (or a camera that failed at the start): get one now.
      try {
        const track = await getDeviceTrack('video', this.state.devices.video);
        if (this.state.phase === 'idle') return track.stop();
        this.cameraTrack = track;
        this.state.localStream?.addTrack(track);
        if (!this.state.sharing) await this.eachLink((link) => link.replaceTrack('video', track, this.state.localStream));
        this.emit({ cameraOff: false, error: '' });
      } catch (error) {
        this.emit({ error: this.describe(error) });
      }
      return;
    }
    const off = !this.state.cameraOff;
    this.cameraTrack.enabled = !off;
    this.emit({ cameraOff: off, error: '' });
  }

  hasCamera() {
    return Boolean(this.cameraTrack);
  }

  async startShare() {
    if (this.state.sharing || this.state.phase !== 'active') return;
    let screen;
    try {
      screen = await getScreen();
    } catch (error) {
      this.emit({ error: error.code === 'cancelled' ? '' : this.describe(error), notice: error.code === 'cancelled' ? error.message : '' });
      return;
    }
    if (this.state.phase !== 'active') return stopStream(screen);
    const [video] = screen.getVideoTracks();
    const [audio] = screen.getAudioTracks();
    if ('contentHint' in video) video.contentHint = 'detail';
    video.addEventListener('ended', () => this.stopShare()); // the browser's own "Stop sharing"
    this.screenStream = screen;
    await this.eachLink((link) => link.replaceTrack('video', video, screen));
    if (audio) await this.eachLink((link) => link.addExtraTrack(audio, screen));
    this.emit({ sharing: true, error: '', notice: '' });
  }

  async stopShare() {
    const screen = this.screenStream;
    if (!screen) return;
    this.screenStream = null;
    const [audio] = screen.getAudioTracks();
    await this.eachLink(async (link) => {
      if (audio) link.removeExtraTrack(audio);
      await link.replaceTrack('video', this.cameraTrack, this.state.localStream);
    });
    stopStream(screen);
    this.emit({ sharing: false });
  }

  /** The stream the local preview shows: the shared screen while sharing, else the camera. */
  previewStream() {
    return this.screenStream ?? this.state.localStream;
  }

  /** Use another microphone or camera in the running call. */
  async switchDevice(kind, deviceId) {
    const stream = this.state.localStream;
    this.emit({ devices: { ...this.state.devices, [kind]: deviceId } });
    if (!stream) return;
    try {
      const track = await getDeviceTrack(kind, deviceId);
      const old = kind === 'audio' ? stream.getAudioTracks()[0] : this.cameraTrack;
      if (kind === 'audio') track.enabled = !this.state.micMuted;
      else {
        track.enabled = !this.state.cameraOff;
        this.cameraTrack = track;
      }
      if (old) {
        stream.removeTrack(old);
        old.stop();
      }
      stream.addTrack(track);
      if (kind === 'audio' || !this.state.sharing) await this.eachLink((link) => link.replaceTrack(kind, track, stream));
      this.emit({ localStream: stream, error: '' });
    } catch (error) {
      this.emit({ error: this.describe(error) });
    }
  }

  /** Devices picked in the device check, used by the next call. */
  chooseDevices({ audio = '', video = '' }) {
    this.emit({ devices: { audio, video } });
  }

  dismissEnded() {
    this.emit({ ended: '', error: '' });
  }

  // ---- server frames -------------------------------------------------------

  onRinging(call) {
    if (!call || call.state === 'ended') return;
    if (this.state.phase !== 'idle') return; // the server answers "busy" for us
    if (call.caller.user_id === this.myId()) return; // our own call, seen from another tab
    this.acceptedHere = false;
    this.emit({ ...freshState(), devices: this.state.devices, phase: 'incoming', call });
  }

  onUpdated(call) {
    if (!call) return;
    if (this.state.phase === 'starting' && !this.state.call) {
      this.whileStarting.set(call.id, call);
      return;
    }
    if (call.state === 'ended') return this.onEnded(call);
    if (!this.isMine(call)) {
      // Our call started in another tab of ours is not this tab's business.
      if (this.state.phase === 'idle' && call.state === 'ringing' && call.caller.user_id !== this.myId()) {
        this.onRinging(call);
      }
      return;
    }
    const me = call.participants.find((p) => p.user_id === this.myId());
    if (this.state.phase === 'incoming' && me && IN_CALL.has(me.state) && !this.acceptedHere) {
      this.teardown('Answered on another device.');
      return;
    }
    if (me && !IN_CALL.has(me.state) && ['active', 'accepting'].includes(this.state.phase) && me.state !== '') {
      // We were removed from the call (left from another tab, say).
      if (['left', 'ended', 'declined', 'removed'].includes(me.state)) return this.teardown(this.summary());
    }
    this.emit({ call });
    if (call.state === 'active' && ['outgoing', 'accepting', 'active'].includes(this.state.phase)) this.becameActive(call);
  }

  onEnded(call) {
    if (call && this.state.phase === 'starting' && !this.state.call) {
      this.whileStarting.set(call.id, call);
      return;
    }
    if (!call || !this.isMine(call)) return;
    const mine = call.caller.user_id === this.myId();
    const name = mine ? this.othersName(call) : displayNameOf(call.caller);
    const reason = String(call.end_reason ?? '');
    const text = this.state.phase === 'active' ? this.summary() : (END_TEXT[reason]?.(name, mine) ?? 'The call ended.');
    this.teardown(text);
  }

  onSignal(frame, apply) {
    const call = this.state.call;
    const from = String(frame?.from ?? '');
    if (!call || frame.call_id !== call.id || !from || from === this.myId()) return;
    if (!['accepting', 'active', 'outgoing'].includes(this.state.phase)) return;
    const link = this.ensureLink(from);
    if (link) apply(link);
  }

  /** After a reconnect of the events socket, catch up with what we may have missed. */
  async resync() {
    const call = this.state.call;
    if (!call || this.state.phase === 'idle' || this.state.phase === 'starting') return;
    try {
      const fresh = await fetchCall(call.id);
      if (fresh) this.onUpdated(fresh);
      if (this.state.phase === 'active') for (const link of this.links.values()) link.recover();
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) this.teardown('The call ended.');
    }
  }

  // ---- the media plumbing --------------------------------------------------

  /** Before ringing anyone or answering: local media and this call's ICE servers. */
  async prepare(media) {
    const [iceServers, local] = await Promise.all([
      fetchIceServers(),
      getLocalMedia({ video: media === 'video', audioDeviceId: this.state.devices.audio, videoDeviceId: this.state.devices.video }),
    ]);
    if (this.state.phase === 'idle') {
      stopStream(local.stream);
      throw new MediaError('cancelled', '');
    }
    this.iceServers = iceServers;
    this.cameraTrack = local.stream.getVideoTracks()[0] ?? null;
    this.emit({ localStream: local.stream, notice: local.fallback });
    this.keepTokenFresh();
  }

  becameActive(call) {
    const since = toDate(call.answered_at)?.getTime();
    const activeSince =
      this.state.activeSince || (since && since <= Date.now() + 1000 && Date.now() - since < 10 * 60 * 1000 ? since : Date.now());
    this.emit({ phase: 'active', call, activeSince });
    this.syncLinks(call);
    if (!this.qualityTimer) this.qualityTimer = setInterval(() => this.sampleQuality(), QUALITY_INTERVAL_MS);
  }

  /**
   * One link per other participant in the call; close the links of those who left. Tiles
   * show who is in the call and who is still being rung.
   */
  syncLinks(call) {
    const present = new Set(this.others(call).filter((p) => IN_CALL.has(p.state)).map((p) => p.user_id));
    for (const [id, link] of this.links) {
      if (present.has(id)) continue;
      this.links.delete(id);
      this.samplers.delete(id);
      link.close();
    }
    const remotes = new Map();
    for (const participant of this.others(call)) {
      if (!present.has(participant.user_id) && participant.state !== 'ringing') continue;
      const entry = this.state.remotes.get(participant.user_id);
      const kept = entry && entry.connection !== 'ringing' ? entry.connection : 'waiting';
      const connection = participant.state === 'ringing' ? 'ringing' : kept;
      remotes.set(participant.user_id, { stream: null, quality: null, ...entry, connection, participant });
    }
    this.emit({ remotes });
    // One side of each pair opens the connection, the other answers its offer: no glare on
    // the first offer. Should that offer never come, the other side opens it after a while.
    const me = this.myId();
    for (const id of present) {
      if (me < id) this.ensureLink(id);
      else {
        const callId = call.id;
        setTimeout(() => {
          const { phase, call: current } = this.state;
          const stillHere = current?.participants.some((p) => p.user_id === id && IN_CALL.has(p.state));
          if (phase === 'active' && current?.id === callId && stillHere) this.ensureLink(id);
        }, FIRST_OFFER_WAIT_MS);
      }
    }
  }

  ensureLink(remoteId) {
    const existing = this.links.get(remoteId);
    if (existing) return existing;
    if (!this.iceServers || !this.state.localStream) return null;
    if (this.links.size >= MAX_MESH - 1) return null;
    const callId = this.state.call.id;
    const link = new PeerLink({
      remoteId,
      polite: this.myId() > remoteId,
      iceServers: this.iceServers,
      signal: (type, fields) => events.send({ type, call_id: callId, to: remoteId, ...fields }),
      onStream: (stream) => this.updateRemote(remoteId, { stream }),
      onState: (connection) => this.updateRemote(remoteId, { connection }),
    });
    this.links.set(remoteId, link);
    this.samplers.set(remoteId, qualitySampler(link.pc));
    link.addLocalStream(this.state.localStream);
    if (this.screenStream) {
      const [video] = this.screenStream.getVideoTracks();
      const [audio] = this.screenStream.getAudioTracks();
      if (video) link.replaceTrack('video', video, this.screenStream);
      if (audio) link.addExtraTrack(audio, this.screenStream);
    }
    this.updateRemote(remoteId, { connection: 'connecting' });
    return link;
  }

  updateRemote(remoteId, patch) {
    if (!this.links.has(remoteId)) return; // closed and gone
    const remotes = new Map(this.state.remotes);
    const participant = this.state.call?.participants.find((p) => p.user_id === remoteId) ?? { user_id: remoteId };
    remotes.set(remoteId, { connection: 'connecting', stream: null, quality: null, participant, ...remotes.get(remoteId), ...patch });
    this.emit({ remotes });
  }

  async sampleQuality() {
    for (const [id, sampler] of this.samplers) {
      try {
        this.updateRemote(id, { quality: await sampler.sample() });
      } catch {
        // A closed connection has no stats; the next sync removes it.
      }
    }
  }

  async eachLink(step) {
    await Promise.all([...this.links.values()].map((link) => Promise.resolve(step(link)).catch((error) => console.warn('call:', error))));
  }

  /** Keep a valid access token at hand, for the hang-up request sent while the tab closes. */
  keepTokenFresh() {
    const refresh = () => getAccessToken().then((token) => (this.cachedToken = token), () => {});
    refresh();
    clearInterval(this.tokenTimer);
    this.tokenTimer = setInterval(refresh, TOKEN_REFRESH_MS);
  }

  leaveOnUnload() {
    const { call, phase } = this.state;
    if (!call || !['outgoing', 'accepting', 'active'].includes(phase)) return;
    const action = phase === 'outgoing' ? 'cancel' : 'end';
    // Both ways, in case one does not get out before the page is gone; the second is a no-op.
    try {
      events.send({ type: `call.${action}`, call_id: call.id });
    } catch {
      // The socket is already gone.
    }
    if (this.cachedToken) {
      fetch(`/api/calls/${encodeURIComponent(call.id)}/${action}`, {
        method: 'POST',
        keepalive: true,
        credentials: 'same-origin',
        headers: { Authorization: `Bearer ${this.cachedToken}`, Accept: 'application/json' },
      }).catch(() => {});
    }
    this.teardown('');
  }

  summary() {
    const since = this.state.activeSince;
    if (!since) return 'Call ended.';
    return `Call ended · ${formatDuration(Date.now() - since)}`;
  }

  describe(error) {
    if (error instanceof MediaError) return error.message;
    if (error instanceof ApiError) return error.message;
    return messageOf(error);
  }

  /** Back to idle: close every connection and release camera, microphone and screen. */
  teardown(ended, { error = '' } = {}) {
    for (const link of this.links.values()) link.close();
    this.links.clear();
    this.samplers.clear();
    clearInterval(this.qualityTimer);
    clearInterval(this.tokenTimer);
    this.qualityTimer = 0;
    this.tokenTimer = 0;
    this.cachedToken = '';
    stopStream(this.state.localStream);
    stopStream(this.screenStream);
    this.screenStream = null;
    this.cameraTrack = null;
    this.iceServers = null;
    this.acceptedHere = false;
    const devices = this.state.devices;
    this.emit({ ...freshState(), devices, ended, error });
  }
}

/** 0:07, 12:34, 1:02:03 */
export function formatDuration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

export const calls = new CallController();

/** Start a call from anywhere (the messages thread header, a workspace, the calls page). */
export function startCall({ callee, media = 'video', conversation_id, workspace_id }) {
  return calls.startCall({ callee, media, conversation_id, workspace_id });
}
