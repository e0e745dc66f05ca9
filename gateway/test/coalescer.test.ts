/**
 * The coalescer batches calls made in one turn of the event loop, answers each caller by its key, and keeps a
 * bad item from failing the others of its batch.
 */
import { Coalescer } from '../src/common/coalescer';

describe('Coalescer', () => {
  it('runs the calls of one turn as one batch and answers each by its key', async () => {
    const batches: number[][] = [];
    const coalescer = new Coalescer<number, string>(
      async (items) => {
        batches.push(items);
        return new Map(items.filter((n) => n !== 3).map((n) => [String(n), `v${n}`]));
      },
      String,
      'missing',
    );
    const answers = await Promise.all([1, 2, 3, 2].map((n) => coalescer.call(n)));
    expect(answers).toEqual(['v1', 'v2', 'missing', 'v2']);
    // The same key twice is one item.
    expect(batches).toEqual([[1, 2, 3]]);
    expect(await coalescer.call(4)).toBe('v4');
    expect(batches).toHaveLength(2);
  });

  it('flushes at the batch limit without waiting for the turn to end', async () => {
    const batches: number[][] = [];
    const coalescer = new Coalescer<number, boolean>(
      async (items) => {
        batches.push(items);
        return new Map(items.map((n) => [String(n), true]));
      },
      String,
      false,
      2,
    );
    await Promise.all([1, 2, 3].map((n) => coalescer.call(n)));
    expect(batches).toEqual([[1, 2], [3]]);
  });

  it('tries each item alone when a batch fails: only the bad item is refused', async () => {
    const runs: number[][] = [];
    const coalescer = new Coalescer<number, boolean>(
      async (items) => {
        runs.push(items);
        if (items.includes(2)) throw new Error('item 2 is bad');
        return new Map(items.map((n) => [String(n), true]));
      },
      String,
      false,
    );
    const settled = await Promise.allSettled([1, 2, 3].map((n) => coalescer.call(n)));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason.message).toBe('item 2 is bad');
    expect(runs).toEqual([[1, 2, 3], [1], [2], [3]]);
  });
});
