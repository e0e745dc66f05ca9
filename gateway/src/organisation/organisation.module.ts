import { DynamicModule, Global, Inject, Logger, Module, OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { DEFAULT_ORGS, SECOND_TRADING_CENTER } from '../ledger/embedded/msp';
import { CONSORTIUM_MSPS, describeThisGateway } from './consortium';
import {
  checkWalletOrganisation,
  embeddedIdentities,
  HeldIdentities,
  walletIdentities,
} from './held-identities';

/**
 * The identities this gateway holds, read before anything else starts (createApp). On a Fabric network a
 * single-organisation gateway whose wallet holds another organisation's identity (or none of its own) does not
 * start: the message names the identities and the wallet to mount instead.
 */
export function heldIdentitiesOf(config: AppConfig): HeldIdentities {
  const walletDir = config.ledgerSettings?.walletDir;
  if (config.ledger === 'embedded' || !walletDir) {
    // The embedded CA enrols the founders at the first start and a joining member's identities when it is
    // added (EmbeddedLedger.enrolOrganisation); a joined member's gateway holds only its own.
    return new HeldIdentities(
      config.organisation,
      embeddedIdentities([...DEFAULT_ORGS, SECOND_TRADING_CENTER]),
    );
  }
  const identities = walletIdentities(walletDir);
  checkWalletOrganisation(walletDir, config.organisation, identities);
  return new HeldIdentities(config.organisation, identities);
}

/** Whose gateway this is (GEC_ORGANISATION) and the identities it holds; says so at start. */
@Global()
@Module({})
export class OrganisationModule implements OnApplicationBootstrap {
  static forRoot(held: HeldIdentities): DynamicModule {
    return {
      module: OrganisationModule,
      providers: [{ provide: HeldIdentities, useValue: held }],
      exports: [HeldIdentities],
    };
  }

  private readonly logger = new Logger('Organisation');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly held: HeldIdentities,
  ) {}

  onApplicationBootstrap(): void {
    const identities = this.held.all.map((identity) => `${identity.mspId}/${identity.name}`).join(', ');
    if (this.config.organisation === 'all') {
      this.logger.warn(
        `this gateway holds the identities of all three organisations (${CONSORTIUM_MSPS.join(', ')}: ` +
          `${identities}): a development consortium in one process, NOT a production deployment, where each ` +
          'member runs its own gateway with only its own identities (set GEC_ORGANISATION; README: "Run on a ' +
          'real Fabric network")',
      );
      return;
    }
    this.logger.log(
      `this gateway is ${describeThisGateway(this.config.organisation)}: it holds ${identities} only and ` +
        'serves the routes its organisation signs for; the others answer 403 SERVED_BY_OTHER_ORGANISATION',
    );
  }
}
