/**
 * Grid PNGs arrive as data URLs and never change for a given key (a dataset preview, a snapshot's grid),
 * so each is fetched once per page load. A failed load is forgotten, so the next view of it retries.
 */
const cache = new Map<string, Promise<string>>();

export function cachedImage(key: string, load: () => Promise<string>): Promise<string> {
  let pending = cache.get(key);
  if (!pending) {
    pending = load();
    cache.set(key, pending);
    pending.catch(() => cache.delete(key));
  }
  return pending;
}
