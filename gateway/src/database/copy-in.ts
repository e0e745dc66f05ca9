import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/**
 * One `COPY … FROM STDIN` fed chunk by chunk by a caller that must go on when the COPY fails (the ingestion
 * keeps reading the body and takes another path): a failure is kept in `failure`, never thrown at the writer,
 * and nothing is written after it (the stream has let go of its connection by then). `write` waits while
 * PostgreSQL is behind, so a slow database holds the body back instead of filling memory.
 */
export class CopyIn {
  failure: Error | undefined;
  private readonly stream: ReturnType<typeof copyFrom>;
  private readonly done: Promise<void>;
  private ended = false;

  constructor(client: PoolClient, sql: string) {
    this.stream = client.query(copyFrom(sql));
    this.done = new Promise<void>((resolve) => {
      this.stream.once('finish', () => resolve());
      // `on`, not `once`: a second error (a CopyFail answered after a failure) must not go unhandled.
      this.stream.on('error', (error: Error) => {
        this.failure ??= error;
        resolve();
      });
    });
  }

  get ok(): boolean {
    return this.failure === undefined;
  }

  /** Hand over one chunk; false when the COPY has failed (now or before). */
  async write(chunk: Buffer): Promise<boolean> {
    if (this.failure || this.ended) return this.ok;
    if (!this.stream.write(chunk)) {
      await new Promise<void>((resolve) => {
        const go = (): void => {
          this.stream.off('drain', go);
          resolve();
        };
        this.stream.on('drain', go);
        void this.done.then(go);
      });
    }
    return this.ok;
  }

  /** End the data; true when PostgreSQL took every row. */
  async end(): Promise<boolean> {
    if (!this.ended && !this.failure) {
      this.ended = true;
      this.stream.end();
    }
    await this.done;
    return this.ok;
  }

  /** Give up: PostgreSQL rolls the COPY back (CopyFail), and the connection is ready for the next statement. */
  async abort(reason: string): Promise<void> {
    if (this.failure) return;
    if (this.ended) {
      await this.done;
      return;
    }
    this.ended = true;
    this.stream.destroy(new Error(reason));
    await this.done;
  }
}
