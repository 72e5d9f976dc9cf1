/** "Did you mean …?": the closest of a set of names to a mistyped one, by edit distance. */

/**
 * Edit distance with adjacent transpositions (optimal string alignment): `--pxf` is one step from `--pfx`, as a
 * person sees it, not two.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate closest to `typed`, or undefined when none is close enough to be a likely typo: within a third of the
 * name's length (at least 1 edit), or the only candidate that starts with what was typed. Leading dashes do not
 * count, and a single letter (`-x`) is too short to guess from.
 */
export function closest(typed: string, candidates: readonly string[]): string | undefined {
  const bare = (name: string): string => name.replace(/^-+/, '').toLowerCase();
  const needle = bare(typed);
  if (needle.length < 2) return undefined;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(needle, bare(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best !== undefined && bestDistance <= Math.max(1, Math.floor(needle.length / 3))) return best;
  const prefixed = candidates.filter((c) => bare(c).startsWith(needle));
  return prefixed.length === 1 ? prefixed[0] : undefined;
}
