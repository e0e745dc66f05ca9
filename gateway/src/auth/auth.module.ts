import { Inject, Logger, Module, OnApplicationBootstrap } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { APP_CONFIG, AppConfig, firstAdminKeyFile } from '../config/config';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysService } from './api-keys.service';
import { RateLimiter } from './rate-limiter';
import { RequestSigningService } from './request-signing';
import { ServedByGuard } from './served-by.guard';

/** API keys, request signing, rate limits, the global guards (API key, then serving organisation), and the first admin key. */
@Module({
  controllers: [ApiKeysController],
  providers: [
    ApiKeysService,
    RequestSigningService,
    RateLimiter,
    // Global guards run in the order they are provided: the caller is known before the route's organisation
    // is checked, so an unknown key hears 401 wherever it knocks.
    { provide: APP_GUARD, useClass: ApiKeyGuard },
    { provide: APP_GUARD, useClass: ServedByGuard },
  ],
  exports: [ApiKeysService, RequestSigningService, RateLimiter],
})
export class AuthModule implements OnApplicationBootstrap {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly apiKeys: ApiKeysService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const file = firstAdminKeyFile(this.config);
    const created = await this.apiKeys.ensureFirstAdminKey(file);
    if (created) {
      // The key itself is never logged: logs travel further than a 0600 file.
      this.logger.warn(
        `first start: created the first admin API key (id ${created.id}, starts ${created.keyPrefix}). ` +
          `Read it with: cat ${file}  (mode 0600; delete the file once you have stored the key)`,
      );
    }
    // Not a reason to refuse the start: the admin needs the gateway up to revoke them and create others.
    const stranded = await this.apiKeys.keysWithoutHeldIdentity();
    if (stranded.length > 0) {
      this.logger.warn(
        `${stranded.length} API key(s) name an identity this gateway does not hold; their ledger requests are ` +
          `refused (403 IDENTITY_NOT_HELD) until they are replaced by keys with this gateway's identities: ` +
          stranded
            .map((key) => `${key.id} (${key.keyPrefix}…, ${key.role}, ${key.mspId}/${key.identityName})`)
            .join(', '),
      );
    }
  }
}
