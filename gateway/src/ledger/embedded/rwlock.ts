/**
 * A readers–writer lock with writer preference, as Fabric's txmgr uses around state commits: simulations
 * hold it shared so they read one consistent committed state; a block's state commit holds it exclusively.
 */
export class ReadWriteLock {
  private readers = 0;
  private writer = false;
  private readonly waitingWriters: Array<() => void> = [];
  private waitingReaders: Array<() => void> = [];

  async read<T>(work: () => Promise<T>): Promise<T> {
    await this.acquireRead();
    try {
      return await work();
    } finally {
      this.releaseRead();
    }
  }

  async write<T>(work: () => Promise<T>): Promise<T> {
    await this.acquireWrite();
    try {
      return await work();
    } finally {
      this.releaseWrite();
    }
  }

  private acquireRead(): Promise<void> {
    if (!this.writer && this.waitingWriters.length === 0) {
      this.readers++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waitingReaders.push(() => (this.readers++, resolve())));
  }

  private releaseRead(): void {
    this.readers--;
    if (this.readers === 0) this.wakeWriter();
  }

  private acquireWrite(): Promise<void> {
    if (!this.writer && this.readers === 0) {
      this.writer = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waitingWriters.push(() => ((this.writer = true), resolve())));
  }

  private releaseWrite(): void {
    this.writer = false;
    if (this.waitingWriters.length > 0 && this.waitingReaders.length === 0) {
      this.wakeWriter();
      return;
    }
    const readers = this.waitingReaders;
    this.waitingReaders = [];
    for (const wake of readers) wake();
    if (readers.length === 0) this.wakeWriter();
  }

  private wakeWriter(): void {
    if (this.writer || this.readers > 0) return;
    const next = this.waitingWriters.shift();
    if (next) next();
  }
}
