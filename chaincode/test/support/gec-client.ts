/**
 * A small client for driving the gec contracts through the embedded ledger in tests: submit/evaluate with one
 * JSON argument, the chaincode's refusal message, and fixtures (participants, units, attestations, issuance).
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'crypto';
import { canonicalJson } from '../../src/lib/canonical-json';
import type { IdentityRef, LedgerPort, SubmittedTransaction } from '../../../gateway/src/ledger/port';
import { runsConsortiumContract } from '../../../gateway/src/ledger/embedded/options';
import { createTestNetwork, type TestNetwork } from '../../../gateway/src/ledger/embedded/testing';

export type Ids = TestNetwork['ids'];

export interface LotJson {
  id: string;
  serialStart: string;
  serialEnd: string;
  sequenceStart: number;
  sequenceEnd: number;
  volume: number;
  projectCode: string;
  unitId: string;
  technology: string;
  province: string;
  productionMonth: string;
  productionPeriodStart: string;
  productionPeriodEnd: string;
  electricityClass: string;
  tradeClass: string;
  issuanceId: string;
  issuedAt: string;
  expiresAt: string;
  owner: string;
  status: string;
  tradable: boolean;
  boundToGreenPowerTrade: boolean;
  greenPowerTradeId: string;
  parentLotId: string;
  listingId: string;
  redemptionId: string;
  exchangeId: string;
  statusReason: string;
  createdAt: string;
  createdTxId: string;
  updatedAt: string;
  updatedTxId: string;
}

export interface IssuanceJson {
  id: string;
  unitId: string;
  productionMonth: string;
  attestedWh: string;
  carryInWh: string;
  carryOutWh: string;
  certificates: number;
  lotId: string;
  serialStart: string;
  serialEnd: string;
  expiresAt: string;
  meters: Array<{ meterId: string; version: number; totalWh: string }>;
  [key: string]: unknown;
}

export interface PageJson<T> {
  items: T[];
  bookmark: string;
  fetchedCount: number;
}

export const utf8 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');
export const digestOf = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

export class GecClient {
  /** Every transaction committed VALID and every one refused or invalidated, for event checks. */
  readonly validTxIds: string[] = [];
  readonly failedTxIds: string[] = [];
  private counter = 0;

  constructor(
    readonly network: TestNetwork,
    readonly ids: Ids = network.ids,
  ) {}

  /** The trading center's (TradingCenterMSP) ECDSA P-256 trade-signing key, registered on the ledger by start(). */
  readonly tradeKey = { keyId: 'tc-key-1', ...generateKeyPairSync('ec', { namedCurve: 'P-256' }) };

  static async start(options: Parameters<typeof createTestNetwork>[0] = {}): Promise<GecClient> {
    const client = new GecClient(await createTestNetwork(options));
    if (runsConsortiumContract(options.contracts) && options.initialiseConsortium !== false) {
      await client.submit(client.ids.tradingAdmin, 'consortium:RegisterTradeSigningKey', {
        keyId: client.tradeKey.keyId,
        alg: 'ecdsa-p256-sha256',
        publicKeyPem: client.tradeKey.publicKey.export({ type: 'spki', format: 'pem' }),
      });
    }
    return client;
  }

  /** The trading center's signature over `trade` (its canonical JSON), as AttestTrade takes it. */
  signTrade(
    trade: unknown,
    key: { keyId: string; privateKey: KeyObject } = this.tradeKey,
  ): { keyId: string; alg: string; value: string } {
    const value = sign('sha256', Buffer.from(canonicalJson(trade), 'utf8'), key.privateKey).toString(
      'base64',
    );
    return { keyId: key.keyId, alg: 'ecdsa-p256-sha256', value };
  }

  get ledger(): LedgerPort {
    return this.network.ledger;
  }

  close(): Promise<void> {
    return this.network.close();
  }

  /** A fresh suffix for ids within this network. */
  next(): number {
    return ++this.counter;
  }

  async submit(
    identity: IdentityRef,
    transaction: string,
    request: unknown,
    transient?: Record<string, string>,
  ): Promise<SubmittedTransaction> {
    const args = [typeof request === 'string' ? request : JSON.stringify(request)];
    try {
      const result = await this.ledger.submit({ identity, transaction, args, transient });
      this.validTxIds.push(result.txId);
      return result;
    } catch (err) {
      const failed = err as { txId?: string; status?: { txId?: string } };
      const txId = failed.txId ?? failed.status?.txId;
      if (txId) this.failedTxIds.push(txId);
      throw err;
    }
  }

  /** Submit and parse the returned JSON. */
  async call<T>(identity: IdentityRef, transaction: string, request: unknown): Promise<T> {
    return JSON.parse(utf8((await this.submit(identity, transaction, request)).result)) as T;
  }

  async evaluate<T>(
    transaction: string,
    arg: unknown,
    identity: IdentityRef = this.ids.regulator,
  ): Promise<T> {
    // `undefined` calls a function that takes no argument.
    const args = arg === undefined ? [] : [typeof arg === 'string' ? arg : JSON.stringify(arg)];
    const text = utf8(await this.ledger.evaluate({ identity, transaction, args }));
    return JSON.parse(text) as T;
  }

  lot(lotId: string): Promise<LotJson> {
    return this.evaluate<LotJson>('certificates:GetLot', lotId);
  }

  // ---- fixtures ----

  async participant(
    kind: 'GENERATOR' | 'CONSUMER',
    prefix = kind === 'GENERATOR' ? 'gen' : 'con',
  ): Promise<string> {
    const id = `${prefix}-${this.next()}`;
    await this.submit(
      this.ids.tradingAdmin,
      'identity:RegisterParticipant',
      { id, kind, name: `${id} 有限公司`, region: '330000' },
      { creditCode: '91330000MA2CK8RX1L' },
    );
    return id;
  }

  /** A 17-character project code unique in this network. */
  projectCode(): string {
    return `PJ${String(this.next()).padStart(15, '0')}`;
  }

  async unit(
    owner: string,
    options: { meters?: number; technology?: string; commissioningDate?: string } = {},
  ): Promise<{ id: string; projectCode: string; meterIds: string[] }> {
    const n = this.next();
    const id = `unit-${n}`;
    const projectCode = this.projectCode();
    const meterIds = Array.from({ length: options.meters ?? 1 }, (_, i) => `m-${n}-${i + 1}`);
    await this.submit(this.ids.gridAdmin, 'units:RegisterUnit', {
      id,
      owner,
      name: `${id} 风电场`,
      projectCode,
      technology: options.technology ?? 'WIND',
      capacityKw: 50_000,
      province: '330000',
      meterIds,
      commissioningDate: options.commissioningDate ?? '2019-06-15',
    });
    return { id, projectCode, meterIds };
  }

  attest(meterId: string, period: string, totalWh: number | string): Promise<SubmittedTransaction> {
    return this.submit(this.ids.gridPlatform, 'metering:AttestMeterPeriod', {
      meterId,
      period,
      totalWh,
      digest: digestOf(`${meterId}:${period}:${totalWh}`),
    });
  }

  /**
   * Issue a unit's month. A month whose issuance window (12 months by default) closed before today is issued as
   * it would have been then: on the 2nd of the following month, Asia/Shanghai (how the tests get lots that have
   * expired since). The window's own rule is tested by submitting certificates:Issue directly.
   */
  async issue(unitId: string, month: string, tradable?: boolean): Promise<IssuanceJson> {
    const [year, monthNumber] = month.split('-').map(Number);
    const shanghai = 8 * 3_600_000;
    const windowCloses = Date.UTC(year, monthNumber + 12, 1) - shanghai;
    const request = { unitId, month, ...(tradable === undefined ? {} : { tradable }) };
    if (Date.now() < windowCloses)
      return this.call<IssuanceJson>(this.ids.gridAdmin, 'certificates:Issue', request);
    return this.at(new Date(Date.UTC(year, monthNumber, 2) - shanghai), () =>
      this.call<IssuanceJson>(this.ids.gridAdmin, 'certificates:Issue', request),
    );
  }

  /** Runs `work` with transactions stamped at `time` (the client's clock, as in Fabric). */
  async at<T>(time: Date, work: () => Promise<T>): Promise<T> {
    const ledger = this.network.ledger;
    const clock = ledger.clock;
    ledger.clock = () => new Date(time);
    try {
      return await work();
    } finally {
      ledger.clock = clock;
    }
  }

  /** A generator with a one-meter unit issued `certificates` certificates for `month`; the lot. */
  async issuedLot(
    month: string,
    certificates: number,
    options: { owner?: string; tradable?: boolean } = {},
  ): Promise<LotJson> {
    const owner = options.owner ?? (await this.participant('GENERATOR'));
    const unit = await this.unit(owner);
    await this.attest(unit.meterIds[0], month, certificates * 1_000_000);
    const issuance = await this.issue(unit.id, month, options.tradable);
    return this.lot(issuance.lotId);
  }
}

/** The chaincode's message from a refused call; fails when the call succeeded. */
export async function refusal(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (err) {
    const e = err as { name?: string; chaincodeMessage?: string; message?: string };
    if (e.name !== 'EndorseError') throw err;
    return e.chaincodeMessage ?? '';
  }
  throw new Error('expected the chaincode to refuse the call, but it succeeded');
}

export async function expectRefused(
  call: Promise<unknown>,
  code: string,
  mentions?: string,
): Promise<string> {
  const message = await refusal(call);
  expect(message).toMatch(new RegExp(`^${code}: `));
  if (mentions !== undefined) expect(message).toContain(mentions);
  return message;
}
