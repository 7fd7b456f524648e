// Fuzzy matching for the command palette: the query's characters must appear in order in the
// text (case-insensitive). Matches score higher when they are consecutive, start words or path
// segments, and fall in the last path segment (the file name), so "mpy" finds "src/main.py".

const BOUNDARY = new Set(['/', '\\', '.', '_', '-', ' ', ':']);

/**
 * Score `text` against `query`; null when it does not match.
 * @returns {{score: number, positions: number[]}|null}
 */
export function fuzzyMatch(query, text) {
  const q = query.trim().toLowerCase();
  if (!q) return { score: 0, positions: [] };
  const t = text.toLowerCase();
  const baseStart = text.lastIndexOf('/') + 1;

  // Greedy from the right end of the best start: try every start position of the first
  // character and keep the best-scoring alignment (texts here are short).
  let best = null;
  let start = t.indexOf(q[0]);
  while (start !== -1) {
    const positions = [start];
    let ti = start + 1;
    for (let qi = 1; qi < q.length; qi += 1) {
      const found = t.indexOf(q[qi], ti);
      if (found === -1) {
        positions.length = 0;
        break;
      }
      positions.push(found);
      ti = found + 1;
    }
    if (positions.length !== q.length) break; // later starts cannot match either
    const score = scoreOf(positions, text, baseStart);
    if (!best || score > best.score) best = { score, positions };
    start = t.indexOf(q[0], start + 1);
  }
  return best;
}

function scoreOf(positions, text, baseStart) {
  let score = 0;
  for (let i = 0; i < positions.length; i += 1) {
    const p = positions[i];
    score += 1;
    if (i > 0 && positions[i - 1] === p - 1) score += 5; // consecutive
    if (p === 0 || BOUNDARY.has(text[p - 1])) score += 8; // start of a word or segment
    else if (text[p] !== text[p].toLowerCase() && text[p - 1] === text[p - 1].toLowerCase()) score += 4; // camelCase hump
    if (p >= baseStart) score += 3; // in the file name
  }
  if (positions[0] === baseStart) score += 6; // the file name starts with the query
  score -= (positions[positions.length - 1] - positions[0]) * 0.2; // spread out
  score -= text.length * 0.02; // shorter texts first on ties
  return score;
}

/** Split `text` into [{text, hit}] runs for highlighting the matched characters. */
export function highlightRuns(text, positions) {
  const hits = new Set(positions);
  const runs = [];
  for (let i = 0; i < text.length; i += 1) {
    const hit = hits.has(i);
    const last = runs[runs.length - 1];
    if (last && last.hit === hit) last.text += text[i];
    else runs.push({ text: text[i], hit });
  }
  return runs;
}
