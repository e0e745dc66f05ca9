/**
 * Coalesces calls that arrive together into one batch: what a database write costs is mostly per statement
 * (a round trip, parsing, planning, a WAL flush at commit), not per row, so writes that become due in the same
 * turn of the event loop (say, every trade of one block once the block is projected) go as one statement.
 *
 * Calls made before the batch runs are flushed together on the next turn (setImmediate), or as soon as
 * `maxBatch` are waiting. Calls with the same key share one entry and one answer. When a batch fails, each of
 * its items is tried alone, so that one bad item cannot fail the others; an item that fails alone rejects only
 * its own callers.
 */
export class Coalescer<I, R> {
  private waiting = new Map<string, { item: I; callers: Array<Deferred<R>> }>();
  private scheduled = false;

  constructor(
    /** Runs a batch; answers each item by its key (a key it does not answer gets `missing`). */
    private readonly run: (items: I[]) => Promise<Map<string, R>>,
    private readonly keyOf: (item: I) => string,
    private readonly missing: R,
    private readonly maxBatch = 500,
  ) {}

  call(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const key = this.keyOf(item);
      const entry = this.waiting.get(key);
      if (entry) entry.callers.push({ resolve, reject });
      else this.waiting.set(key, { item, callers: [{ resolve, reject }] });
      if (this.waiting.size >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    if (this.waiting.size === 0) return;
    const batch = this.waiting;
    this.waiting = new Map();
    void this.runBatch(batch);
  }

  private async runBatch(batch: Map<string, { item: I; callers: Array<Deferred<R>> }>): Promise<void> {
    const settle = (key: string, answers: Map<string, R>) => {
      const answer = answers.has(key) ? (answers.get(key) as R) : this.missing;
      for (const caller of batch.get(key)!.callers) caller.resolve(answer);
    };
    try {
      const answers = await this.run([...batch.values()].map((e) => e.item));
      for (const key of batch.keys()) settle(key, answers);
    } catch (error) {
      if (batch.size === 1) {
        for (const caller of [...batch.values()][0].callers) caller.reject(error);
        return;
      }
      await Promise.all(
        [...batch].map(async ([key, entry]) => {
          try {
            settle(key, await this.run([entry.item]));
          } catch (alone) {
            for (const caller of entry.callers) caller.reject(alone);
          }
        }),
      );
    }
  }
}

interface Deferred<R> {
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}
