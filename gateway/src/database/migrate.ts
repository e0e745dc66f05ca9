import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Resources } from '../common/resources';
import { ConfigError, loadConfig } from '../config/config';
import { connectDatabase } from './database.module';
import { dataSourceOptions } from './data-source-options';

/**
 * `npm run migration:run -w gateway`: apply pending migrations to DATABASE_URL, or to the embedded
 * PostgreSQL in GEC_DATA_DIR (started for the occasion and stopped again). The gateway also runs them at start.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  Logger.overrideLogger(
    config.logLevel === 'debug' || config.logLevel === 'trace'
      ? ['log', 'warn', 'error', 'debug']
      : ['log', 'warn', 'error'],
  );
  const logger = new Logger('Migrations');
  const resources = new Resources();
  try {
    const url = await connectDatabase(config, resources, logger);
    const dataSource = await new DataSource(dataSourceOptions(url, 1)).initialize();
    resources.add('database', () => dataSource.destroy());
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    logger.log(
      applied.length === 0
        ? 'no pending migration'
        : `applied: ${applied.map((migration) => migration.name).join(', ')}`,
    );
  } finally {
    await resources.closeAll((stage, error) => logger.error(`closing the ${stage} failed: ${String(error)}`));
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `migration failed: ${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
