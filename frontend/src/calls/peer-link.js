// One RTCPeerConnection to one other participant of a call, negotiated with the "perfect
// negotiation" pattern: either side may send an offer at any time (tracks added, ICE
// restart); when offers cross, the polite side rolls back and answers, the impolite side
// ignores the other offer. Which side is polite is decided by user id, so both agree.

const DISCONNECTED_GRACE_MS = 3000; // a short blip often recovers without a restart
const MAX_SDP_CHARS = 60000; // the events socket refuses frames above 64 KiB

export class PeerLink {
  /**
   * @param {object} o
   * @param {string} o.remoteId  the other participant's user id
   * @param {boolean} o.polite
   * @param {RTCIceServer[]} o.iceServers  from the server only
   * @param {(type: string, fields: object) => void} o.signal  send rtc.offer/answer/candidate to remoteId
   * @param {(stream: MediaStream) => void} o.onStream  the remote media arrived or changed
   * @param {(state: string) => void} o.onState  'connecting' | 'connected' | 'reconnecting' | 'failed' | 'closed'
   */
  constructor({ remoteId, polite, iceServers, signal, onStream, onState }) {
    this.remoteId = remoteId;
    this.polite = polite;
    this.signal = signal;
    this.onStream = onStream;
    this.onState = onState;
    this.pc = new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle' });
    this.remoteStream = new MediaStream();
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.settingAnswer = false;
    this.queue = Promise.resolve(); // incoming signalling is applied strictly in order
    this.pendingCandidates = [];
    this.disconnectTimer = 0;
    this.closed = false;
    this.senders = { audio: null, video: null };
    this.extraSenders = new Map(); // track -> sender, for tracks added mid-call (screen audio)
    this.wire();
  }

  wire() {
    const { pc } = this;
    pc.addEventListener('negotiationneeded', () => this.offer());
    pc.addEventListener('icecandidate', ({ candidate }) => {
      this.signal('rtc.candidate', { candidate: candidate ? candidate.toJSON() : null });
    });
    pc.addEventListener('track', ({ track }) => {
      if (!this.remoteStream.getTracks().includes(track)) this.remoteStream.addTrack(track);
      track.addEventListener('ended', () => {
        this.remoteStream.removeTrack(track);
        this.onStream(this.remoteStream);
      });
      this.onStream(this.remoteStream);
    });
    pc.addEventListener('iceconnectionstatechange', () => this.iceStateChanged());
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'connected') this.onState('connected');
      else if (pc.connectionState === 'failed') this.restartIce();
    });
  }

  /** Send our tracks: one audio and one video sender, kept for replaceTrack later. */
  addLocalStream(stream) {
    for (const track of stream.getTracks()) {
      const kind = track.kind === 'video' ? 'video' : 'audio';
      if (this.senders[kind]) continue;
      this.senders[kind] = this.pc.addTrack(track, stream);
    }
  }

  /** Swap what a sender sends without renegotiating (device switch, screen share). */
  async replaceTrack(kind, track, stream) {
    const sender = this.senders[kind];
    if (sender) {
      await sender.replaceTrack(track);
      return;
    }
    // An audio-only call has no video sender yet: adding one needs a (perfect) renegotiation.
    if (track && stream) this.senders[kind] = this.pc.addTrack(track, stream);
  }

  /** Add or remove an extra track, such as the audio of a shared tab. Renegotiates. */
  addExtraTrack(track, stream) {
    if (!this.extraSenders.has(track)) this.extraSenders.set(track, this.pc.addTrack(track, stream));
  }

  removeExtraTrack(track) {
    const sender = this.extraSenders.get(track);
    if (!sender) return;
    this.extraSenders.delete(track);
    if (this.pc.signalingState !== 'closed') this.pc.removeTrack(sender);
  }

  async offer() {
    if (this.closed) return;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      const sdp = this.pc.localDescription?.sdp ?? '';
      if (sdp.length > MAX_SDP_CHARS) throw new Error('offer too large');
      this.signal('rtc.offer', { sdp });
    } catch (error) {
      if (!this.closed) console.warn('call: could not make an offer', error);
    } finally {
      this.makingOffer = false;
    }
  }

  /** An rtc.offer or rtc.answer from the other side. */
  receiveDescription(type, sdp) {
    this.enqueue(async () => {
      const { pc } = this;
      // An answer is expected only while our offer is out; a late or duplicate one is dropped.
      if (type === 'answer' && pc.signalingState !== 'have-local-offer') return;
      const readyForOffer = !this.makingOffer && (pc.signalingState === 'stable' || this.settingAnswer);
      const collision = type === 'offer' && !readyForOffer;
      this.ignoreOffer = !this.polite && collision;
      if (this.ignoreOffer) return;
      this.settingAnswer = type === 'answer';
      await pc.setRemoteDescription({ type, sdp }); // rolls our own offer back when polite
      this.settingAnswer = false;
      await this.flushCandidates();
      if (type === 'offer') {
        await pc.setLocalDescription();
        this.signal('rtc.answer', { sdp: pc.localDescription?.sdp ?? '' });
      }
    });
  }

  /** An rtc.candidate; null means the other side has sent all of its candidates. */
  receiveCandidate(candidate) {
    this.enqueue(async () => {
      if (!this.pc.remoteDescription) {
        this.pendingCandidates.push(candidate);
        return;
      }
      await this.addCandidate(candidate);
    });
  }

  async flushCandidates() {
    const pending = this.pendingCandidates.splice(0);
    for (const candidate of pending) await this.addCandidate(candidate);
  }

  async addCandidate(candidate) {
    try {
      await this.pc.addIceCandidate(candidate ?? { candidate: '' });
    } catch (error) {
      // Candidates of an offer we ignored (glare) are expected to fail.
      if (!this.ignoreOffer && candidate) console.warn('call: a remote ICE candidate was refused', error);
    }
  }

  enqueue(step) {
    this.queue = this.queue.then(() => (this.closed ? undefined : step())).catch((error) => {
      if (!this.closed) console.warn('call: signalling step failed', error);
    });
  }

  iceStateChanged() {
    const state = this.pc.iceConnectionState;
    clearTimeout(this.disconnectTimer);
    if (state === 'connected' || state === 'completed') this.onState('connected');
    else if (state === 'checking' || state === 'new') this.onState('connecting');
    else if (state === 'disconnected') {
      this.onState('reconnecting');
      this.disconnectTimer = setTimeout(() => {
        if (this.pc.iceConnectionState === 'disconnected') this.restartIce();
      }, DISCONNECTED_GRACE_MS);
    } else if (state === 'failed') {
      this.onState('reconnecting');
      this.restartIce();
    }
  }

  /**
   * After the signalling socket was down: frames sent meanwhile are lost. Send our pending
   * offer again, or restart ICE if the media path is not up.
   */
  recover() {
    if (this.closed) return;
    const { pc } = this;
    if (pc.signalingState === 'have-local-offer' && pc.localDescription) {
      this.signal('rtc.offer', { sdp: pc.localDescription.sdp });
    } else if (!['connected', 'completed'].includes(pc.iceConnectionState)) {
      this.restartIce();
    }
  }

  /** Gather new candidates and renegotiate (a network change, a blip). */
  restartIce() {
    if (this.closed) return;
    this.pc.restartIce(); // fires negotiationneeded, which sends an offer with new credentials
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.disconnectTimer);
    this.pc.close();
    this.onState('closed');
  }
}
