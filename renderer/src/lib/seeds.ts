/**
 * Parses what a person types into the seeds field: single seeds and inclusive ranges, separated by commas
 * or spaces ("0-15", "1, 5, 9", "3 10-12"). Duplicates are dropped, order is kept. The limits mirror the
 * `export.samples` contract, so a bad entry is caught here with a message that points at it.
 */
export const MAX_SEED = 2 ** 32 - 1;
export const MAX_SEEDS = 1024;

export type SeedParse = { ok: true; seeds: number[] } | { ok: false; error: string };

export function parseSeeds(text: string): SeedParse {
  const parts = text.split(/[\s,]+/).filter((p) => p.length > 0);
  if (parts.length === 0) return { ok: false, error: 'Enter at least one seed, e.g. "0-15" or "1, 5, 9".' };
  const seen = new Set<number>();
  const seeds: number[] = [];
  for (const part of parts) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!match) return { ok: false, error: `"${part}" is not a seed or a range like 0-15 (whole numbers ≥ 0 only).` };
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    if (from > MAX_SEED || to > MAX_SEED) return { ok: false, error: `"${part}": seeds go up to ${MAX_SEED}.` };
    if (to < from) return { ok: false, error: `"${part}": a range must go from low to high.` };
    if (to - from + 1 > MAX_SEEDS) return { ok: false, error: `"${part}" is ${to - from + 1} seeds; at most ${MAX_SEEDS} per export.` };
    for (let seed = from; seed <= to; seed++) {
      if (seen.has(seed)) continue;
      seen.add(seed);
      seeds.push(seed);
      if (seeds.length > MAX_SEEDS) return { ok: false, error: `That is more than ${MAX_SEEDS} seeds; export at most ${MAX_SEEDS} at a time.` };
    }
  }
  return { ok: true, seeds };
}
