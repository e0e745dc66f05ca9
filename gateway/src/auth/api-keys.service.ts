import { APP_CONFIG, AppConfig } from '../config/config';
import { CallbackPolicy } from '../common/callback-policy';
import { CREDENTIAL_CACHE_MS, ShortCache } from '../common/short-cache';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, IsNull } from 'typeorm';
import { decodeCursor, DEFAULT_LIMIT, encodeCursor, Page } from '../common/pagination';
import { ProblemError } from '../common/problem';
import { ApiKeyEntity } from './api-key.entity';
import { ApiKeyDto, CreateApiKeyDto, RegisterSigningKeyDto, SigningKeyDto } from './api-keys.dto';
import { RequestSigningAlgorithm, RequestSigningService } from './request-signing';
import { HeldIdentities } from '../organisation/held-identities';
import { keyIdentity } from './key-identity';
import { Principal, SIGNING_ROLES } from './roles';

/** hex SHA-256: enough for a 256-bit random key (no salt or slow hash needed: it cannot be guessed). */
export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

function newKey(): string {
  return `gec_${randomBytes(32).toString('base64url')}`;
}

export function toApiKeyDto(entity: ApiKeyEntity, signingAlgs: RequestSigningAlgorithm[] = []): ApiKeyDto {
  return {
    id: entity.id,
    label: entity.label,
    role: entity.role,
    actsFor: entity.actsFor,
    callbackUrl: entity.callbackUrl,
    fabricIdentity: { mspId: entity.mspId, name: entity.identityName },
    requireSignature: entity.requireSignature,
    signingAlgs,
    keyPrefix: entity.keyPrefix,
    createdAt: entity.createdAt.toISOString(),
    createdBy: entity.createdBy,
    revokedAt: entity.revokedAt ? entity.revokedAt.toISOString() : null,
  };
}

/** Any value: a lock id for "the first admin key is being created". */
const FIRST_KEY_LOCK = 7_100_001;

@Injectable()
export class ApiKeysService {
  private readonly principals = new ShortCache<Principal | undefined>(CREDENTIAL_CACHE_MS);

  private readonly callbackPolicy: CallbackPolicy;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly signing: RequestSigningService,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly held: HeldIdentities,
  ) {
    this.callbackPolicy = new CallbackPolicy(config.callbackAllow);
  }

  /**
   * The caller behind a key, or undefined when the key is unknown or revoked. Read at most once a second per
   * key (every request is authenticated); a key revoked on this instance is refused at once, on another within a
   * second.
   */
  authenticate(key: string): Promise<Principal | undefined> {
    if (key.length > 200) return Promise.resolve(undefined);
    const keyHash = hashKey(key);
    return this.principals.get(keyHash, async () => {
      const entity = await this.dataSource
        .getRepository(ApiKeyEntity)
        .findOneBy({ keyHash, revokedAt: IsNull() });
      if (!entity) return undefined;
      return {
        keyId: entity.id,
        label: entity.label,
        role: entity.role,
        actsFor: entity.actsFor,
        identity: { mspId: entity.mspId, name: entity.identityName },
        requireSignature: entity.requireSignature,
        callbackUrl: entity.callbackUrl,
      };
    });
  }

  async create(
    request: CreateApiKeyDto,
    createdBy: string | null,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<{ entity: ApiKeyEntity; key: string; signingSecret: string | null }> {
    const signs = SIGNING_ROLES.includes(request.role);
    if (!signs && request.requireSignature === true) {
      throw new ProblemError(400, 'VALIDATION_FAILED', 'the request is invalid: requireSignature', {
        errors: [
          {
            field: 'requireSignature',
            message: 'only trading-center and energy-platform keys sign their requests',
          },
        ],
      });
    }
    if (request.callbackUrl !== undefined && request.role !== 'trading-center') {
      throw new ProblemError(400, 'VALIDATION_FAILED', 'the request is invalid: callbackUrl', {
        errors: [
          {
            field: 'callbackUrl',
            message: 'only trading-center keys post trades and so have a callback URL',
          },
        ],
      });
    }
    const callbackRefusal =
      request.callbackUrl === undefined ? undefined : this.callbackPolicy.refusal(request.callbackUrl);
    if (callbackRefusal) {
      throw new ProblemError(400, 'VALIDATION_FAILED', 'the request is invalid: callbackUrl', {
        errors: [{ field: 'callbackUrl', message: callbackRefusal }],
      });
    }
    const identity = keyIdentity(request, this.held);
    if (signs && !manager.queryRunner?.isTransactionActive) {
      return this.dataSource.transaction((inner) => this.create(request, createdBy, inner));
    }
    const key = newKey();
    const entity = manager.getRepository(ApiKeyEntity).create({
      id: randomUUID(),
      label: request.label.trim(),
      role: request.role,
      actsFor: request.actsFor,
      mspId: identity.mspId,
      identityName: identity.name,
      keyHash: hashKey(key),
      keyPrefix: key.slice(0, 8),
      requireSignature: signs && request.requireSignature !== false,
      callbackUrl: request.callbackUrl ?? null,
      createdAt: new Date(),
      createdBy,
      revokedAt: null,
      revokedBy: null,
    });
    await manager.getRepository(ApiKeyEntity).insert(entity);
    const signingSecret = signs
      ? (await this.signing.createHmacSecret(manager, entity.id, createdBy)).secret
      : null;
    return { entity, key, signingSecret };
  }

  /** Register an SM2 public key for request signing, or generate a new HMAC secret (shown once). */
  async registerSigningKey(
    id: string,
    body: RegisterSigningKeyDto,
    createdBy: string,
  ): Promise<SigningKeyDto> {
    const entity = await this.dataSource.getRepository(ApiKeyEntity).findOneBy({ id });
    if (!entity) throw new ProblemError(404, 'API_KEY_NOT_FOUND', `no API key ${id}`);
    if (entity.revokedAt) throw new ProblemError(409, 'API_KEY_REVOKED', `API key ${id} is revoked`);
    if (!SIGNING_ROLES.includes(entity.role)) {
      throw new ProblemError(
        422,
        'SIGNING_NOT_APPLICABLE',
        `${entity.role} keys do not sign their requests; only trading-center and energy-platform keys do`,
      );
    }
    if (body.alg === 'hmac-sha256') {
      if (body.publicKeyPem !== undefined || body.sm2Id !== undefined) {
        throw new ProblemError(400, 'VALIDATION_FAILED', 'the request is invalid: publicKeyPem', {
          errors: [{ field: 'publicKeyPem', message: 'hmac-sha256 takes neither publicKeyPem nor sm2Id' }],
        });
      }
      const { secret, createdAt } = await this.signing.createHmacSecret(
        this.dataSource.manager,
        id,
        createdBy,
      );
      return { keyId: id, alg: 'hmac-sha256', createdAt: createdAt.toISOString(), secret };
    }
    if (!body.publicKeyPem) {
      throw new ProblemError(400, 'VALIDATION_FAILED', 'the request is invalid: publicKeyPem', {
        errors: [{ field: 'publicKeyPem', message: 'sm2-sm3 needs publicKeyPem' }],
      });
    }
    const createdAt = await this.signing.registerSm2(id, body.publicKeyPem, body.sm2Id, createdBy);
    return { keyId: id, alg: 'sm2-sm3', createdAt: createdAt.toISOString() };
  }

  async list(limit = DEFAULT_LIMIT, cursor?: string): Promise<Page<ApiKeyDto>> {
    const after = decodeCursor(cursor, ['createdAt', 'id']);
    const query = this.dataSource
      .getRepository(ApiKeyEntity)
      .createQueryBuilder('k')
      .orderBy('k.created_at', 'ASC')
      .addOrderBy('k.id', 'ASC')
      .limit(limit + 1);
    if (after) {
      query.where('(k.created_at, k.id) > (:createdAt, :id)', { createdAt: after.createdAt, id: after.id });
    }
    const rows = await query.getMany();
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    const algs = await this.signing.algorithmsOf(items.map((item) => item.id));
    return {
      items: items.map((item) => toApiKeyDto(item, algs.get(item.id) ?? [])),
      nextCursor:
        rows.length > limit && last
          ? encodeCursor({ createdAt: last.createdAt.toISOString(), id: last.id })
          : null,
    };
  }

  /** Revoke a key. The last active admin key cannot be revoked: nobody could manage keys any more. */
  async revoke(id: string, revokedBy: string): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const repository = manager.getRepository(ApiKeyEntity);
      const entity = await repository.findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!entity) throw new ProblemError(404, 'API_KEY_NOT_FOUND', `no API key ${id}`);
      if (entity.revokedAt) return;
      if (entity.role === 'admin') {
        await manager.query(`SELECT pg_advisory_xact_lock($1)`, [FIRST_KEY_LOCK]);
        const admins = await repository.countBy({ role: 'admin', revokedAt: IsNull() });
        if (admins <= 1) {
          throw new ProblemError(409, 'LAST_ADMIN_KEY', 'the last active admin key cannot be revoked');
        }
      }
      await repository.update({ id }, { revokedAt: new Date(), revokedBy });
    });
    this.principals.clear();
  }

  /**
   * Active keys naming an identity this gateway does not hold: stored before it became a single organisation's
   * gateway, or before its wallet changed. Their ledger requests are refused (403 IDENTITY_NOT_HELD).
   */
  async keysWithoutHeldIdentity(): Promise<ApiKeyEntity[]> {
    const keys = await this.dataSource.getRepository(ApiKeyEntity).findBy({ revokedAt: IsNull() });
    return keys.filter((key) => !this.held.find({ mspId: key.mspId, name: key.identityName }));
  }

  /**
   * On the very first start (no key at all), create an admin key and write it to `file` (mode 0600).
   * Returns the new key's id, or undefined when keys already exist. Safe with several gateways starting at once.
   */
  async ensureFirstAdminKey(file: string): Promise<{ id: string; keyPrefix: string } | undefined> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`SELECT pg_advisory_xact_lock($1)`, [FIRST_KEY_LOCK]);
      if ((await manager.getRepository(ApiKeyEntity).count()) > 0) return undefined;
      const { entity, key } = await this.create(
        { label: 'first admin key', role: 'admin', actsFor: 'consortium' },
        null,
        manager,
      );
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.rmSync(file, { force: true });
      fs.writeFileSync(
        file,
        [
          '# gec-ledger: the first admin API key, created on first start. Send it as the X-API-Key header.',
          '# Create your own keys with POST /v1/api-keys, then delete this file.',
          key,
          '',
        ].join('\n'),
        { mode: 0o600 },
      );
      return { id: entity.id, keyPrefix: entity.keyPrefix };
    });
  }
}
