/**
 * The resources the gateway opens, closed in a fixed order whatever the order they were opened in:
 * first the event projector, then the ledger (finishing its in-flight work), then the dedicated database sessions
 * (the instance's liveness lock: released before the pool closes, or the pool would wait for it), then the
 * database connections,
 * then the embedded PostgreSQL. The HTTP server is closed before all of these (Nest closes it before the
 * application-shutdown hooks run), so no request is cut off half-way.
 *
 * Also used when the start fails half-way: whatever was opened is closed again.
 */

export const RESOURCE_STAGES = ['projector', 'ledger', 'sessions', 'database', 'postgres'] as const;
export type ResourceStage = (typeof RESOURCE_STAGES)[number];

export class Resources {
  private readonly closers = new Map<ResourceStage, Array<() => Promise<void>>>();
  /** Resources still opening: closing waits for them, so one that finishes opening late is closed too. */
  private readonly opening = new Set<Promise<unknown>>();
  private closing?: Promise<void>;
  private closed = false;

  add(stage: ResourceStage, close: () => Promise<void>): void {
    if (this.closed) {
      // Everything else is closed already (a start that failed meanwhile): close this one now.
      void close().catch(() => undefined);
      return;
    }
    const list = this.closers.get(stage) ?? [];
    list.push(close);
    this.closers.set(stage, list);
  }

  /**
   * Open a resource and register its closer as soon as it is open. A start that fails elsewhere meanwhile
   * (Nest builds providers concurrently) waits in `closeAll` until this one is open, then closes it: a failed
   * start never leaves, say, an embedded PostgreSQL running.
   */
  open<T>(stage: ResourceStage, opening: Promise<T>, close: (value: T) => Promise<void>): Promise<T> {
    const registered = opening.then((value) => {
      this.add(stage, () => close(value));
      return value;
    });
    this.opening.add(registered);
    void registered.then(
      () => this.opening.delete(registered),
      () => this.opening.delete(registered),
    );
    return registered;
  }

  /** Close everything in stage order; each closer runs once, a failure does not stop the others. */
  closeAll(onError: (stage: ResourceStage, error: unknown) => void = () => undefined): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.opening]);
      for (const stage of RESOURCE_STAGES) {
        for (const close of (this.closers.get(stage) ?? []).reverse()) {
          try {
            await close();
          } catch (error) {
            onError(stage, error);
          }
        }
      }
      this.closed = true;
    })();
    return this.closing;
  }
}

export const RESOURCES = Symbol('RESOURCES');
