import { bytesOf, jsonBody } from './common/json-body';
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { auditLogMiddleware } from './audit/audit-log';
import { MetricsService } from './metrics/metrics.service';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { QuietFrameworkLogger, requestIdMiddleware } from './common/logging';
import { ProblemFilter } from './common/problem.filter';
import { Resources } from './common/resources';
import { setupSwagger } from './common/swagger';
import { REGULATOR_ASSETS_PREFIX, STATIC_DIR } from './pages/regulator-page.controller';
import { createValidationPipe } from './common/validation';
import type { AppConfig } from './config/config';
import type { LedgerFactory } from './ledger-module/ledger.tokens';
import { heldIdentitiesOf } from './organisation/organisation.module';

export interface CreateAppOptions {
  /** Open another ledger than the embedded one (tests). */
  ledgerFactory?: LedgerFactory;
}

/**
 * Build the gateway (not yet listening): checks the identities it holds are its organisation's (a Fabric
 * wallet), opens the database (starting the embedded PostgreSQL when DATABASE_URL is unset), runs the
 * migrations, opens the ledger, starts the projector, creates the first admin key on first start. If anything
 * fails, whatever was opened is closed again before the error is thrown.
 */
export async function createApp(
  config: AppConfig,
  options: CreateAppOptions = {},
): Promise<INestApplication> {
  // Before anything is opened: a gateway holding another organisation's keys must not start at all.
  const held = heldIdentitiesOf(config);
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o755 });
  const resources = new Resources();
  let app: NestExpressApplication | undefined;
  try {
    app = await NestFactory.create<NestExpressApplication>(
      AppModule.forRoot({ config, resources, held, ledgerFactory: options.ledgerFactory }),
      // Our own JSON parser (common/json-body.ts) keeps the exact bytes as rawBody for request signatures;
      // streamed bodies (bulk ingestion) have no parser and stay streams; they are hashed while they stream.
      { bufferLogs: true, abortOnError: false, bodyParser: false },
    );
    app.useLogger(new QuietFrameworkLogger(app.get(Logger)));
    app.flushLogs();
    app.disable('x-powered-by');
    // The client's address (public pages are rate-limited by it) from the proxies the operator trusts only.
    if (config.trustProxy !== undefined) app.set('trust proxy', config.trustProxy);
    app.use(requestIdMiddleware);
    // The regulator page's script and style: files, not API operations (like /docs's own assets).
    app.useStaticAssets(join(STATIC_DIR, 'regulator'), {
      prefix: REGULATOR_ASSETS_PREFIX,
      index: false,
      setHeaders: (res) => {
        res.setHeader('X-Content-Type-Options', 'nosniff');
        res.setHeader('Cache-Control', 'no-cache');
      },
    });
    app.use(auditLogMiddleware(app.get<DataSource>(getDataSourceToken()), app.get(MetricsService)));
    app.use(jsonBody(bytesOf(config.bodyLimit)));
    app.useGlobalFilters(new ProblemFilter());
    app.useGlobalPipes(createValidationPipe());
    setupSwagger(app);
    await app.init();
    return app;
  } catch (error) {
    await app?.close().catch(() => undefined);
    await resources.closeAll();
    throw error;
  }
}
