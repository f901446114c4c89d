/**
 * Which items the grid shows, in which order: a filter (a check, included/excluded, problems), an optional
 * label, and a sort (name, size, similarity). The order is computed once per query and curation version
 * and cached, so paging through 100,000 items is a slice of a typed array.
 */
import type { ItemFilter, ItemSort } from '../../shared/contract.ts';
import { CHECK_BIT } from './checks.ts';
import type { Curation, CurationStore } from './curationStore.ts';
import type { ScanRecord } from './curationManifest.ts';

export interface Query {
  filter: ItemFilter;
  sort: ItemSort;
  /** null or undefined: any label; '' : unlabelled items only. */
  label?: string | null;
}

/** Interleave three 6-bit numbers: a Morton (Z-order) code, so nearby colours get nearby keys. */
function morton3(a: number, b: number, c: number): number {
  let key = 0;
  for (let bit = 5; bit >= 0; bit--) key = key * 8 + ((a >> bit) & 1) * 4 + ((b >> bit) & 1) * 2 + ((c >> bit) & 1);
  return key;
}

function colourKey(item: ScanRecord): number {
  if (!item.mean) return Number.MAX_SAFE_INTEGER;
  const [r, g, b] = item.mean;
  return morton3(r >> 2, g >> 2, b >> 2);
}

export function selectItems(store: CurationStore, c: Curation, query: Query): Int32Array {
  const d = store.derivedOf(c);
  const key = `${query.filter}|${query.sort}|${query.label ?? '*'}|${c.edits.version}|${c.analysisKey}`;
  const cached = c.views.get(key);
  if (cached) return cached;

  const items = c.manifest.items;
  const checks = c.analysis.checks;
  const keep = (i: number): boolean => {
    switch (query.filter) {
      case 'all':
        break;
      case 'included':
        if (d.excluded[i]) return false;
        break;
      case 'excluded':
        if (!d.excluded[i]) return false;
        break;
      case 'problems':
        if (!checks[i]) return false;
        break;
      default:
        if (((checks[i] as number) & CHECK_BIT[query.filter]) === 0) return false;
    }
    if (query.label !== undefined && query.label !== null) {
      const label = d.labels[i] ?? '';
      if (label !== query.label) return false;
    }
    return true;
  };
  const selected: number[] = [];
  for (let i = 0; i < items.length; i++) if (keep(i)) selected.push(i);

  if (query.sort === 'size') {
    // Smallest first (that is where the problems are); files without a size go last.
    const area = (i: number): number => {
      const item = items[i] as ScanRecord;
      return item.width === null || item.height === null ? Number.MAX_SAFE_INTEGER : item.width * item.height;
    };
    selected.sort((a, b) => area(a) - area(b) || a - b);
  } else if (query.sort === 'similarity') {
    // Groups of (near) duplicates side by side, at the place of their kept image; everything else by
    // colour, so look-alikes cluster.
    const sortKey = new Float64Array(items.length);
    const tie = new Int32Array(items.length);
    for (const i of selected) {
      const g = c.analysis.groupOf[i] ?? -1;
      const group = g >= 0 ? c.analysis.groups[g] : undefined;
      const anchor = group ? group.kept : i;
      sortKey[i] = colourKey(items[anchor] as ScanRecord);
      tie[i] = group ? (i === group.kept ? -1 : i) : i;
    }
    selected.sort((a, b) => {
      const ga = c.analysis.groupOf[a] ?? -1;
      const gb = c.analysis.groupOf[b] ?? -1;
      return (sortKey[a] as number) - (sortKey[b] as number) || ga - gb || (tie[a] as number) - (tie[b] as number);
    });
  }
  const order = Int32Array.from(selected);
  if (c.views.size > 16) c.views.clear();
  c.views.set(key, order);
  return order;
}
