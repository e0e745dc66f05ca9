import { DynamicModule, Logger, Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig, ledgerDir } from '../config/config';
import { Resources, RESOURCES } from '../common/resources';
import { createLedger, ledgerConfigFromEnv } from '../ledger/factory';
import { JournaledLedger } from '../ledger/journaled-ledger';
import type { LedgerPort } from '../ledger/port';
import { MetricsService } from '../metrics/metrics.service';
import { HeldIdentities } from '../organisation/held-identities';
import { checkJoinedMember } from '../organisation/joined-member';
import { OrganisationLedger } from '../organisation/organisation-ledger';
import { InstrumentedLedger } from './instrumented-ledger';
import { LEDGER_FACTORY, LEDGER_PORT, LedgerFactory } from './ledger.tokens';

/**
 * The ledger chosen by LEDGER: `embedded` (the real chaincode in-process, data in `<GEC_DATA_DIR>/ledger`),
 * `fabric-gateway` or `fabric-network` (a real Fabric network, FABRIC_* settings).
 */
export const openConfiguredLedger: LedgerFactory = (options) =>
  createLedger(options.settings ?? ledgerConfigFromEnv(process.env, { dataDir: options.dataDir }));

/**
 * Provides the LedgerPort under LEDGER_PORT: opens it at start, closes it at shutdown (after the HTTP server
 * and the projector, before the database; see Resources). A single-organisation gateway's port signs with its
 * organisation's identities only (OrganisationLedger); its wallet was checked before (HeldIdentities).
 */
@Module({})
export class LedgerModule {
  static forRoot(factory: LedgerFactory = openConfiguredLedger): DynamicModule {
    return {
      module: LedgerModule,
      global: true,
      providers: [
        { provide: LEDGER_FACTORY, useValue: factory },
        {
          provide: LEDGER_PORT,
          inject: [APP_CONFIG, RESOURCES, LEDGER_FACTORY, MetricsService, HeldIdentities],
          useFactory: async (
            config: AppConfig,
            resources: Resources,
            open: LedgerFactory,
            metrics: MetricsService,
            held: HeldIdentities,
          ): Promise<LedgerPort> => {
            const logger = new Logger('Ledger');
            const started = Date.now();
            const dataDir = ledgerDir(config);
            // Writes behind an Idempotency-Key record their txId first and are resolved by it on a retry.
            const instrumented = new InstrumentedLedger(
              new JournaledLedger(await open({ dataDir, settings: config.ledgerSettings })),
              metrics.ledgerSubmits,
            );
            const ledger =
              config.organisation === 'all' ? instrumented : new OrganisationLedger(instrumented, held);
            resources.add('ledger', () => ledger.close());
            const info = await ledger.getChainInfo();
            const settings = config.ledgerSettings;
            const where =
              config.ledger === 'embedded'
                ? dataDir
                : `channel ${settings?.channel ?? 'gec-channel'}, ${settings?.peerEndpoint ?? 'connection profile'}`;
            logger.log(
              `${config.ledger} ledger open (${where}, height ${info.height}) in ${Date.now() - started} ms`,
            );
            // What the embedded ledger's start-up checks repaired (a cut block file, a rebuilt state database).
            for (const repair of info.startup?.repairs ?? []) logger.warn(`storage repair: ${repair}`);
            await checkJoinedMember(ledger, config.organisation, logger);
            return ledger;
          },
        },
      ],
      exports: [LEDGER_PORT],
    };
  }
}
