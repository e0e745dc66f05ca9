import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app';
import { ConfigError, firstAdminKeyFile, loadConfig } from './config/config';

/** `npm start`: the gateway on the embedded ledger (and the embedded PostgreSQL unless DATABASE_URL is set). */
async function main(): Promise<void> {
  const started = performance.now();
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
  app.enableShutdownHooks(['SIGINT', 'SIGTERM'], { useProcessExit: true });
  await app.listen(config.port, config.host);
  const url = await app.getUrl();
  const base = url.replace('[::1]', 'localhost');
  const logger = new Logger('Gateway');
  logger.log(
    `ready in ${Math.round(performance.now() - started)} ms at ${base} — API docs ${base}/docs, ` +
      `readiness ${base}/health/ready; first admin API key (first start only): ${firstAdminKeyFile(config)}`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(
    `gec-gateway failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
