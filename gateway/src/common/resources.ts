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
  private closing?: Promise<void>;

  add(stage: ResourceStage, close: () => Promise<void>): void {
    const list = this.closers.get(stage) ?? [];
    list.push(close);
    this.closers.set(stage, list);
  }

  /** Close everything in stage order; each closer runs once, a failure does not stop the others. */
  closeAll(onError: (stage: ResourceStage, error: unknown) => void = () => undefined): Promise<void> {
    this.closing ??= (async () => {
      for (const stage of RESOURCE_STAGES) {
        for (const close of (this.closers.get(stage) ?? []).reverse()) {
          try {
            await close();
          } catch (error) {
            onError(stage, error);
          }
        }
      }
    })();
    return this.closing;
  }
}

export const RESOURCES = Symbol('RESOURCES');
