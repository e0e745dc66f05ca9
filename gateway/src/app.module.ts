import { DynamicModule, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import type { DataSource } from 'typeorm';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { CoreModule } from './common/core.module';
import { CertificatesModule } from './certificates/certificates.module';
import { ExchangesModule } from './exchanges/exchanges.module';
import { ExpiryModule } from './expiry/expiry-sweeper';
import { ExportsModule } from './exports/exports.module';
import { ListingsModule } from './listings/listings.module';
import { MeterAttestationsModule } from './meter-attestations/meter-attestations';
import { ParametersModule } from './parameters/parameters';
import { RedemptionsModule } from './redemptions/redemptions.module';
import { UnitsModule } from './units/units.module';
import { loggerParams } from './common/logging';
import { Resources, RESOURCES } from './common/resources';
import type { AppConfig } from './config/config';
import { DatabaseModule } from './database/database.module';
import { InstanceLivenessModule } from './database/instance-liveness';
import { HealthModule } from './health/health.module';
import { IdempotencyModule } from './idempotency/idempotency.module';
import { LedgerModule } from './ledger-module/ledger.module';
import type { LedgerFactory } from './ledger-module/ledger.tokens';
import { MeteringModule } from './metering/metering.module';
import { MetricsModule } from './metrics/metrics.module';
import type { HeldIdentities } from './organisation/held-identities';
import { OrganisationModule } from './organisation/organisation.module';
import { PagesModule } from './pages/pages.module';
import { ParticipantsModule } from './participants/participants.module';
import { ProjectionModule } from './projection/projection.module';
import { StatisticsModule } from './statistics/statistics.module';
import { TradesModule } from './trades/trades.module';

/**
 * Closes the resources in order once Nest has closed the HTTP server (application-shutdown hooks run after
 * it, and this root module's hook runs before those of the global modules, TypeORM's included).
 */
class Lifecycle implements OnApplicationShutdown {
  private readonly logger = new Logger('Lifecycle');

  constructor(
    @Inject(RESOURCES) private readonly resources: Resources,
    @Inject(getDataSourceToken()) dataSource: DataSource,
  ) {
    resources.add('database', async () => {
      if (dataSource.isInitialized) await dataSource.destroy();
    });
  }

  async onApplicationShutdown(signal?: string): Promise<void> {
    this.logger.log(`shutting down${signal ? ` on ${signal}` : ''}: projector, ledger, database, PostgreSQL`);
    await this.resources.closeAll((stage, error) =>
      this.logger.error(`closing the ${stage} failed: ${(error as Error).message}`),
    );
    this.logger.log('shutdown complete');
  }
}

export interface AppModuleOptions {
  config: AppConfig;
  resources: Resources;
  /** The identities this gateway holds (its wallet checked before anything starts). */
  held: HeldIdentities;
  ledgerFactory?: LedgerFactory;
}

@Module({})
export class AppModule {
  static forRoot(options: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(options.config, options.resources),
        LoggerModule.forRoot(loggerParams(options.config)),
        MetricsModule,
        OrganisationModule.forRoot(options.held),
        DatabaseModule.forRoot(),
        LedgerModule.forRoot(options.ledgerFactory),
        ProjectionModule,
        InstanceLivenessModule,
        IdempotencyModule,
        AuthModule,
        ParticipantsModule,
        UnitsModule,
        MeterAttestationsModule,
        CertificatesModule,
        ListingsModule,
        RedemptionsModule,
        ExchangesModule,
        ParametersModule,
        ExpiryModule,
        MeteringModule,
        TradesModule,
        AuditModule,
        StatisticsModule,
        ExportsModule,
        HealthModule,
        PagesModule,
      ],
      providers: [Lifecycle],
    };
  }
}
