import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import { LEDGER_PORT } from '../ledger-module/ledger.tokens';
import type { LedgerPort } from '../ledger/port';
import { MetricsService } from '../metrics/metrics.service';
import { Projector } from '../projection/projector.service';
import { lagBlocks } from './projection-readiness';

/** The slice of node-postgres's Pool the gauges read. */
interface PgPool {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

/**
 * Gauges a platform team watches beside the HTTP ones, read when Prometheus scrapes: the PostgreSQL pool
 * (connections open, idle, and requests waiting for one) and where the projection stands against the ledger.
 */
@Injectable()
export class HealthMetrics {
  constructor(
    metrics: MetricsService,
    @InjectDataSource() dataSource: DataSource,
    @Inject(LEDGER_PORT) ledger: LedgerPort,
    projector: Projector,
  ) {
    const registers = [metrics.registry];
    new Gauge({
      name: 'gec_db_pool_connections',
      help: 'PostgreSQL pool of this instance: connections open (total), idle, and queries waiting for one',
      labelNames: ['state'] as const,
      registers,
      collect() {
        const pool = (dataSource.driver as unknown as { master?: PgPool }).master;
        if (!pool) return;
        this.set({ state: 'total' }, pool.totalCount);
        this.set({ state: 'idle' }, pool.idleCount);
        this.set({ state: 'waiting' }, pool.waitingCount);
      },
    });
    new Gauge({
      name: 'gec_ledger_height_blocks',
      help: 'Blocks on the ledger (height) as this instance sees it',
      registers,
      async collect() {
        this.set((await ledger.getChainInfo()).height);
      },
    });
    new Gauge({
      name: 'gec_projection_checkpoint_block',
      help: 'Block of the last chaincode event projected into PostgreSQL (-1: none yet)',
      registers,
      async collect() {
        this.set((await projector.storedCheckpoint())?.blockNumber ?? -1);
      },
    });
    new Gauge({
      name: 'gec_projection_lag_blocks',
      help:
        'Blocks committed after the last projected chaincode event (a block whose transactions carry no gec ' +
        'event, such as one holding only invalidated transactions, also counts until the next event)',
      registers,
      async collect() {
        // The stored checkpoint, as readiness reads it: a follower has no position of its own in memory.
        const [info, stored] = await Promise.all([ledger.getChainInfo(), projector.storedCheckpoint()]);
        this.set(lagBlocks(info.height, stored?.blockNumber));
      },
    });
  }
}
