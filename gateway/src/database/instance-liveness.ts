import { randomUUID } from 'node:crypto';
import { Global, Inject, Injectable, Logger, Module, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, QueryRunner } from 'typeorm';
import { Resources, RESOURCES } from '../common/resources';

/** First key of the two-key advisory locks that mark live gateway instances ('geci' in ASCII). */
const NAMESPACE = 0x67656369;
const CHECK_MS = 5000;

/**
 * Which gateway instances are alive, as PostgreSQL sees them: each instance holds a session advisory lock named
 * after its id for as long as it runs. A killed instance's connection closes and its lock goes with it at once,
 * so work it owned (an idempotent request, a lease) can be taken over without waiting for a timeout, and work
 * of a live instance is never taken from it.
 */
@Injectable()
export class InstanceLiveness implements OnModuleInit {
  /** This instance's id (random per process). */
  readonly id = randomUUID();
  private readonly logger = new Logger('InstanceLiveness');
  private session: QueryRunner | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(RESOURCES) resources: Resources,
  ) {
    resources.add('sessions', () => this.close());
  }

  /**
   * SQL true when the instance whose id `idSql` gives holds its lock (`idSql` is a uuid column or placeholder).
   * The lock is `pg_advisory_lock(NAMESPACE, hashtext(id))`; pg_locks shows the two keys as classid and objid.
   * The live set is read once per statement (an uncorrelated sub-select), however many rows ask.
   */
  static aliveSql(idSql: string): string {
    return (
      `(hashtext((${idSql})::text)::oid IN (SELECT l.objid FROM pg_locks l WHERE l.locktype = 'advisory' ` +
      `AND l.granted AND l.objsubid = 2 AND l.classid = ${NAMESPACE}::oid))`
    );
  }

  async onModuleInit(): Promise<void> {
    await this.hold();
    this.timer = setInterval(() => void this.check(), CHECK_MS).unref();
  }

  private async hold(): Promise<void> {
    const session = this.dataSource.createQueryRunner();
    await session.connect();
    await session.query('SELECT pg_advisory_lock($1, hashtext($2))', [NAMESPACE, this.id]);
    this.session = session;
  }

  /** The lock lives with its connection: if the connection was lost (database restarted), take it again. */
  private async check(): Promise<void> {
    if (this.closed) return;
    try {
      await this.session?.query('SELECT 1');
    } catch {
      await this.session?.release().catch(() => undefined);
      this.session = undefined;
      try {
        await this.hold();
        this.logger.warn('database connection lost and back: instance liveness lock taken again');
      } catch {
        // Still down; the next check tries again.
      }
    }
  }

  private async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.session?.release().catch(() => undefined);
    this.session = undefined;
  }
}

@Global()
@Module({ providers: [InstanceLiveness], exports: [InstanceLiveness] })
export class InstanceLivenessModule {}
