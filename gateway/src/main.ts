import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app';
import { ConfigError, firstAdminKeyFile, loadConfig } from './config/config';

/** `npm start`: the gateway on the embedded ledger (and the embedded PostgreSQL unless DATABASE_URL is set). */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`gec-gateway: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const app = await createApp(config);
  // SIGINT/SIGTERM: stop taking requests, let those in flight finish, then close the projector, the ledger,
  // the database connections and the embedded PostgreSQL, in that order; exit 0. A hung shutdown exits 1.
  app.enableShutdownHooks(['SIGINT', 'SIGTERM'], { useProcessExit: true });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      setTimeout(() => {
        process.stderr.write('gec-gateway: shutdown took over 30 s, exiting\n');
        process.exit(1);
      }, 30000).unref();
    });
  }
  try {
    await app.listen(config.port, config.host);
  } catch (error) {
    await app.close();
    throw error;
  }
  const url = await app.getUrl();
  const base = url.replace('[::1]', 'localhost');
  const logger = new Logger('Gateway');
  logger.log(
    `ready in ${Math.round(process.uptime() * 1000)} ms at ${base} — API docs ${base}/docs, ` +
      `readiness ${base}/health/ready; first admin API key (first start only): ${firstAdminKeyFile(config)}`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(
    `gec-gateway failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
