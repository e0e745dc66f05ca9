import * as path from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import { ApiKeyEntity } from '../auth/api-key.entity';
import { REPO_ROOT } from '../config/config';
import { IdempotencyEntity } from '../idempotency/idempotency.entity';
import { ParticipantEntity } from '../participants/participant.entity';
import { CheckpointEntity, ProjectedEventEntity } from '../projection/projection.entities';

export const ENTITIES = [
  ApiKeyEntity,
  ParticipantEntity,
  CheckpointEntity,
  ProjectedEventEntity,
  IdempotencyEntity,
];

/**
 * Where the migrations are loaded from.
 *
 * The sources live in the top-level `migrations/` folder. `npm run build -w gateway` compiles them with
 * `migrations/tsconfig.json` into `gateway/dist/migrations/`, beside the compiled gateway, so `dist` is
 * self-contained. When the gateway itself runs from TypeScript sources (the tests, under ts-jest), the
 * `.ts` sources are loaded directly.
 */
export function migrationsGlob(): string {
  return __filename.endsWith('.ts')
    ? path.join(REPO_ROOT, 'migrations', '*.ts')
    : path.join(__dirname, '..', 'migrations', '*.js');
}

export function dataSourceOptions(url: string, poolSize: number): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: [migrationsGlob()],
    migrationsTableName: 'typeorm_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: ['error'],
    applicationName: 'gec-gateway',
    // connectionTimeoutMillis bounds the wait for a pooled connection as well as for a new one. Without it, a
    // database that stops answering without closing its sockets (a frozen server, a stalled disk or VM) held
    // every request until it came back, answering nothing; with it, requests beyond the connections already stuck
    // get 'timeout exceeded when trying to connect', answered 503 DATABASE_UNAVAILABLE with Retry-After. 5 s is
    // far above any wait for a connection in normal operation (the trade benchmark at saturation included).
    extra: { max: poolSize, connectionTimeoutMillis: 5000 },
  };
}
