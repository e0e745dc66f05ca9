import { DynamicModule, Logger, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig, postgresDir } from '../config/config';
import { Resources, RESOURCES } from '../common/resources';
import { dataSourceOptions } from './data-source-options';
import { startEmbeddedPostgres } from './embedded-postgres';

/** The URL of the database the gateway uses (DATABASE_URL, or the embedded PostgreSQL it started). */
export const DATABASE_URL = Symbol('DATABASE_URL');

/** Connect to DATABASE_URL, or start the embedded PostgreSQL in `<GEC_DATA_DIR>/postgres`. */
export async function connectDatabase(
  config: AppConfig,
  resources: Resources,
  logger: Logger,
): Promise<string> {
  if (config.databaseUrl) return config.databaseUrl;
  const started = Date.now();
  const postgres = await resources.open(
    'postgres',
    startEmbeddedPostgres({
      dataDir: postgresDir(config),
      port: config.embeddedPostgresPort,
      onLog: (line) => logger.debug(line),
      onNotice: (line) => logger.warn(line),
    }),
    (started) => started.stop(),
  );
  logger.log(
    `embedded PostgreSQL ${postgres.initialised ? 'initialised and ' : ''}started on 127.0.0.1:${postgres.port} ` +
      `(${postgres.dataDir}) in ${Date.now() - started} ms`,
  );
  return postgres.url();
}

@Module({})
class DatabaseConnectionModule {
  static forRoot(): DynamicModule {
    return {
      module: DatabaseConnectionModule,
      providers: [
        {
          provide: DATABASE_URL,
          inject: [APP_CONFIG, RESOURCES],
          useFactory: (config: AppConfig, resources: Resources) =>
            connectDatabase(config, resources, new Logger('Database')),
        },
      ],
      exports: [DATABASE_URL],
    };
  }
}

/**
 * PostgreSQL through TypeORM. Migrations run at start (`migrationsRun`); `synchronize` is never on.
 */
@Module({})
export class DatabaseModule {
  static forRoot(): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          imports: [DatabaseConnectionModule.forRoot()],
          inject: [DATABASE_URL, APP_CONFIG, RESOURCES],
          useFactory: (url: string, config: AppConfig) => ({
            ...dataSourceOptions(url, config.dbPoolSize),
            migrationsRun: true,
            retryAttempts: 0,
          }),
          dataSourceFactory: async (options) => new DataSource(options!).initialize(),
        }),
      ],
    };
  }
}
