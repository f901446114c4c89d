/**
 * The checks of a curation, derived from what the import recorded and the current settings: which files
 * cannot be used, which are small, far from square, exact or near duplicates, grayscale among colour (or
 * the reverse); which of them a build leaves out by default; and the groups duplicates form, one kept in
 * each. Pure and recomputed on demand, so changing the target resolution or the near-duplicate threshold
 * re-judges every file without reading one again.
 */
import { CheckId, type CropRect, type CurationSettings } from '../../shared/contract.ts';
import type { ScanRecord } from './curationManifest.ts';
import { hashWords, popcount32 } from './imageStats.ts';

export const CHECK_BIT: Record<CheckId, number> = Object.fromEntries(CheckId.options.map((c, i) => [c, 1 << i])) as Record<CheckId, number>;
const ERROR_MASK = CHECK_BIT.unreadable | CHECK_BIT.corrupt | CHECK_BIT['not-image'] | CHECK_BIT.empty | CHECK_BIT.unsupported;

/** Long side over short side beyond which an image is "far from square": a centre crop loses over 20 %. */
export const NON_SQUARE_RATIO = 1.25;
/** Beyond this (panoramas, banners, screenshots of a long page) a square crop keeps under 40 %. */
export const EXTREME_RATIO = 2.5;
/** Images this many times smaller than the target would be upscaled to mush: left out by default. */
const TINY_FACTOR = 4;

export interface Group {
  id: number;
  kind: 'duplicate' | 'near-duplicate';
  /** Item indices in manifest (name) order. */
  members: number[];
  kept: number;
}

export interface Analysis {
  /** Per item, a bitmask of CHECK_BIT. */
  checks: Uint16Array;
  /** Per item, 1 when a check leaves it out unless the user includes it (errors are always out). */
  defaultExcluded: Uint8Array;
  /** Per item, the index into `groups` of its duplicate or near-duplicate group, or -1. */
  groupOf: Int32Array;
  groups: Group[];
  /** True when most usable images are in colour (then grayscale ones are flagged, else colour ones). */
  colourSet: boolean;
}

export const hasCheck = (mask: number, check: CheckId): boolean => (mask & CHECK_BIT[check]) !== 0;
export const isError = (mask: number): boolean => (mask & ERROR_MASK) !== 0;
export const checksOf = (mask: number): CheckId[] => CheckId.options.filter((c) => (mask & CHECK_BIT[c]) !== 0);

/** Near-duplicates must also agree on their mean colour within this (0-255, per channel). */
const SAME_COLOUR = 40;
const colourDistance = (a: ScanRecord, b: ScanRecord): number =>
  a.mean && b.mean ? Math.max(...a.mean.map((v, k) => Math.abs(v - (b.mean?.[k] ?? v)))) : 0;

const usable = (item: ScanRecord): boolean => item.error === null && item.width !== null && item.height !== null;
const area = (item: ScanRecord): number => (item.width ?? 0) * (item.height ?? 0);
const aspect = (item: ScanRecord): number => {
  const w = item.width ?? 1;
  const h = item.height ?? 1;
  return Math.max(w, h) / Math.max(1, Math.min(w, h));
};

/** Union-find over item indices. */
class Components {
  private readonly parent: Int32Array;
  constructor(n: number) {
    this.parent = new Int32Array(n).map((_, i) => i);
  }
  find(i: number): number {
    let root = i;
    while (this.parent[root] !== root) root = this.parent[root] as number;
    let x = i;
    while (this.parent[x] !== root) {
      const next = this.parent[x] as number;
      this.parent[x] = root;
      x = next;
    }
    return root;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Pairs of hashes within `threshold` bits, found by multi-index hashing: cut the 64 bits into
 * threshold + 1 chunks; two hashes that close agree exactly on at least one chunk (pigeonhole), so only
 * hashes sharing a chunk value are compared. Yields to the event loop now and then: at 100,000 images
 * this is a second of work the UI must not feel.
 */
export async function nearPairs(hashes: readonly string[], candidates: readonly number[], threshold: number, onPair: (a: number, b: number) => void): Promise<void> {
  const hi = new Uint32Array(candidates.length);
  const lo = new Uint32Array(candidates.length);
  candidates.forEach((item, k) => {
    const [h, l] = hashWords(hashes[item] as string);
    hi[k] = h;
    lo[k] = l;
  });
  const chunks = threshold + 1;
  const bounds = Array.from({ length: chunks + 1 }, (_, j) => Math.round((j * 64) / chunks));
  const chunkOf = (k: number, j: number): number => {
    const from = bounds[j] as number;
    const to = bounds[j + 1] as number;
    let value = 0;
    for (let bit = from; bit < to; bit++) {
      const word = bit < 32 ? (hi[k] as number) : (lo[k] as number);
      value = value * 2 + ((word >>> (31 - (bit % 32))) & 1);
    }
    return value;
  };
  let work = 0;
  for (let j = 0; j < chunks; j++) {
    const buckets = new Map<number, number[]>();
    for (let k = 0; k < candidates.length; k++) {
      const key = chunkOf(k, j);
      const bucket = buckets.get(key);
      if (bucket) bucket.push(k);
      else buckets.set(key, [k]);
    }
    for (const bucket of buckets.values()) {
      for (let x = 0; x < bucket.length; x++) {
        const a = bucket[x] as number;
        for (let y = x + 1; y < bucket.length; y++) {
          const b = bucket[y] as number;
          const d = popcount32((hi[a] as number) ^ (hi[b] as number)) + popcount32((lo[a] as number) ^ (lo[b] as number));
          if (d <= threshold) onPair(candidates[a] as number, candidates[b] as number);
        }
        work += bucket.length;
        if (work > 2_000_000) {
          work = 0;
          await yieldToEventLoop();
        }
      }
    }
  }
}

export async function analyse(items: readonly ScanRecord[], settings: CurationSettings): Promise<Analysis> {
  const n = items.length;
  const checks = new Uint16Array(n);
  const defaultExcluded = new Uint8Array(n);
  const groupOf = new Int32Array(n).fill(-1);
  const groups: Group[] = [];
  const R = settings.resolution;

  let colour = 0;
  let gray = 0;
  for (const item of items) {
    if (!usable(item)) continue;
    if (item.gray) gray++;
    else colour++;
  }
  const colourSet = colour >= gray;

  for (let i = 0; i < n; i++) {
    const item = items[i] as ScanRecord;
    if (item.error) {
      checks[i] = CHECK_BIT[item.error.check];
      defaultExcluded[i] = 1;
      continue;
    }
    if (!usable(item)) continue;
    let mask = 0;
    const short = Math.min(item.width ?? 0, item.height ?? 0);
    if (short < R) mask |= CHECK_BIT.small;
    if (short * TINY_FACTOR < R) defaultExcluded[i] = 1;
    const ratio = aspect(item);
    if (ratio > EXTREME_RATIO) {
      mask |= CHECK_BIT['extreme-aspect'];
      if (settings.crop !== 'pad') defaultExcluded[i] = 1;
    } else if (ratio > NON_SQUARE_RATIO) {
      mask |= CHECK_BIT['non-square'];
    }
    if (colourSet && item.gray) mask |= CHECK_BIT.grayscale;
    if (!colourSet && item.gray === false) mask |= CHECK_BIT.colour;
    checks[i] = mask;
  }

  // Exact duplicates: the same bytes. The shortest name is kept ("a.jpg" over "a (1).jpg", "Copy of a.jpg").
  const byHash = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const item = items[i] as ScanRecord;
    if (!usable(item) || !item.sha256) continue;
    const list = byHash.get(item.sha256);
    if (list) list.push(i);
    else byHash.set(item.sha256, [i]);
  }
  const representatives: number[] = [];
  for (const members of byHash.values()) {
    const kept = members.reduce((best, m) => ((items[m] as ScanRecord).path.length < (items[best] as ScanRecord).path.length ? m : best));
    representatives.push(kept);
    if (members.length < 2) continue;
    const group: Group = { id: groups.length, kind: 'duplicate', members, kept };
    groups.push(group);
    for (const m of members) {
      groupOf[m] = group.id;
      if (m !== group.kept) {
        checks[m] = (checks[m] as number) | CHECK_BIT.duplicate;
        defaultExcluded[m] = 1;
      }
    }
  }
  representatives.sort((a, b) => a - b);

  // Near duplicates among the distinct files: connected components of "within threshold" pairs. The
  // largest image of each group is kept (ties: the first by name).
  const hashes = items.map((item) => item.dhash ?? '');
  const withHash = representatives.filter((i) => (items[i] as ScanRecord).dhash);
  const components = new Components(n);
  let anyPair = false;
  await nearPairs(hashes, withHash, settings.nearThreshold, (a, b) => {
    // dHash sees only brightness steps: two flat images of different colours hash alike.
    if (colourDistance(items[a] as ScanRecord, items[b] as ScanRecord) > SAME_COLOUR) return;
    anyPair = true;
    components.union(a, b);
  });
  if (anyPair) {
    const byRoot = new Map<number, number[]>();
    for (const i of withHash) {
      const root = components.find(i);
      const list = byRoot.get(root);
      if (list) list.push(i);
      else byRoot.set(root, [i]);
    }
    for (const members of byRoot.values()) {
      if (members.length < 2) continue;
      members.sort((a, b) => a - b);
      let kept = members[0] as number;
      for (const m of members) if (area(items[m] as ScanRecord) > area(items[kept] as ScanRecord)) kept = m;
      const group: Group = { id: groups.length, kind: 'near-duplicate', members, kept };
      groups.push(group);
      for (const m of members) {
        // An exact duplicate's kept file that is also near another: the near group is the one to show.
        groupOf[m] = group.id;
        if (m !== kept) {
          checks[m] = (checks[m] as number) | CHECK_BIT['near-duplicate'];
          defaultExcluded[m] = 1;
        }
      }
    }
  }
  return { checks, defaultExcluded, groupOf, groups, colourSet };
}

/** The square a build cuts from the upright image, as fractions; null where only the content decides. */
export function cropRect(item: ScanRecord, settings: Pick<CurationSettings, 'crop'>): CropRect | null {
  if (item.width === null || item.height === null) return null;
  const { width: w, height: h } = item;
  if (settings.crop === 'pad') {
    // The whole image is kept; the rect is the image inside the padded square.
    const side = Math.max(w, h);
    return { x: (side - w) / 2 / side, y: (side - h) / 2 / side, w: w / side, h: h / side };
  }
  if (settings.crop === 'center') {
    const side = Math.min(w, h);
    return { x: (w - side) / 2 / w, y: (h - side) / 2 / h, w: side / w, h: side / h };
  }
  return item.crop;
}

/** The human line for one check of an item, e.g. 'far from square (1.50:1): the centre crop keeps 67 %'. */
export function checkNote(item: ScanRecord, check: CheckId, settings: CurationSettings, group: Group | null): string {
  const w = item.width ?? 0;
  const h = item.height ?? 0;
  const short = Math.min(w, h);
  const R = settings.resolution;
  const ratio = Math.max(w, h) / Math.max(1, short);
  const keep = Math.round((100 * short) / Math.max(1, Math.max(w, h)));
  const policy =
    settings.crop === 'pad' ? `padded to a square with ${settings.background}` : `the ${settings.crop === 'center' ? 'centre' : settings.crop} crop keeps ${keep} %`;
  const others = group ? group.members.length - 1 : 0;
  switch (check) {
    case 'small':
      return `small: ${w}×${h}, smaller than ${R} px (upscaled ${(R / Math.max(1, short)).toFixed(1)}×${short * TINY_FACTOR < R ? '; left out by default' : ''})`;
    case 'non-square':
      return `far from square (${ratio.toFixed(2)}:1): ${policy}`;
    case 'extreme-aspect':
      return `extreme aspect ratio (${ratio.toFixed(2)}:1): ${policy}${settings.crop === 'pad' ? '' : '; left out by default'}`;
    case 'duplicate':
      return `exact duplicate: the same bytes as ${others} other file${others === 1 ? '' : 's'}; one is kept`;
    case 'near-duplicate':
      return `near-duplicate: looks like ${others} other image${others === 1 ? '' : 's'}; the largest is kept`;
    case 'grayscale':
      return 'grayscale in a colour set';
    case 'colour':
      return 'colour in a grayscale set';
    default:
      return `${check === 'not-image' ? 'not an image' : check}: ${item.error?.reason ?? 'cannot be used'}`;
  }
}

/** One human line per check of an item. */
export function checkNotes(item: ScanRecord, mask: number, settings: CurationSettings, group: Group | null): string[] {
  return checksOf(mask).map((check) => checkNote(item, check, settings, group));
}
