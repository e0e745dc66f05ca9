/** How long a credential read from the database is trusted: a revocation on another instance waits this long. */
export const CREDENTIAL_CACHE_MS = 1000;

/**
 * Values read from the database and trusted for a short time (`ttlMs`): credentials the hot paths check on every
 * request (API keys, request-signing keys, trading-center check keys). A change made on this instance drops the
 * entry at once (`delete`, `clear`); one made on another instance is seen within `ttlMs`. Concurrent misses of
 * one key share one load.
 */
export class ShortCache<V> {
  private readonly entries = new Map<string, { value: Promise<V>; at: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10000,
  ) {}

  get(key: string, load: () => Promise<V>): Promise<V> {
    const now = Date.now();
    const cached = this.entries.get(key);
    if (cached && now - cached.at < this.ttlMs) return cached.value;
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    const value = load();
    this.entries.set(key, { value, at: now });
    // A failed load is not remembered.
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    return value;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
