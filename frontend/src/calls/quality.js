// Connection quality of one peer connection from getStats(): round-trip time of the
// selected candidate pair and packet loss of what we received since the last sample.

/** @typedef {{level: 'good'|'fair'|'poor'|'unknown', rttMs: number|null, lossPercent: number|null}} Quality */

export function qualityLevel(rttMs, lossPercent) {
  if (rttMs == null && lossPercent == null) return 'unknown';
  const rtt = rttMs ?? 0;
  const loss = lossPercent ?? 0;
  if (rtt > 400 || loss > 8) return 'poor';
  if (rtt > 150 || loss > 2) return 'fair';
  return 'good';
}

/** A sampler for one RTCPeerConnection; call `sample()` every few seconds. */
export function qualitySampler(pc) {
  let previous = { received: 0, lost: 0 };
  return {
    /** @returns {Promise<Quality>} */
    async sample() {
      const report = await pc.getStats();
      let pairId = '';
      let rtt = null;
      let received = 0;
      let lost = 0;
      report.forEach((stat) => {
        if (stat.type === 'transport' && stat.selectedCandidatePairId) pairId = stat.selectedCandidatePairId;
      });
      report.forEach((stat) => {
        const selected = pairId ? stat.id === pairId : stat.nominated && stat.state === 'succeeded';
        if (stat.type === 'candidate-pair' && selected && typeof stat.currentRoundTripTime === 'number') {
          rtt = Math.round(stat.currentRoundTripTime * 1000);
        }
        if (stat.type === 'inbound-rtp') {
          received += stat.packetsReceived ?? 0;
          lost += Math.max(0, stat.packetsLost ?? 0);
        }
      });
      const dReceived = received - previous.received;
      const dLost = lost - previous.lost;
      previous = { received, lost };
      const total = dReceived + dLost;
      const lossPercent = total > 0 ? Math.round((dLost / total) * 1000) / 10 : null;
      return { level: qualityLevel(rtt, lossPercent), rttMs: rtt, lossPercent };
    },
  };
}
