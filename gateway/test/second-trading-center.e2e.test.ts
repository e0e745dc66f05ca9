/**
 * Issue 15: a second provincial trading center (TradingCenter2MSP) joins a running consortium on the embedded
 * ledger and attests a trade end to end, as network/scripts/addOrg.sh and consortium.sh make it join the live
 * network. One embedded ledger; a gateway per organisation (GEC_ORGANISATION), each with its own database.
 *
 *   1. the channel: an update adding TradingCenter2MSP's MSP (its own CA root) and the OR endorsement policy,
 *      signed by the GridMSP and TradingCenterMSP admins (2 of 3, the MAJORITY Admins policy);
 *   2. its own gateway starts (not before the channel admits it), and may do nothing until
 *   3. the registry on chain admits it: ProposeOrganisation by the grid's admin, ApproveOrganisation by the
 *      trading center's (a strict majority of the three members); it then registers its market participants and
 *      its trade-signing key on the ledger;
 *   4. a trade it signed is posted to the platform's gateway, verified, attested by the chaincode with its key,
 *      COMMITTED with a voucher; the regulator's gateway projects it; the first trading center cannot change the
 *      second's participants.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { common, msp } from '@hyperledger/fabric-protos';
import canonicalize from 'canonicalize';
import { decodeTransaction } from '../src/ledger/embedded/fabric/protos';
import { EmbeddedLedger } from '../src/ledger/embedded/embedded-ledger';
import { SECOND_TRADING_CENTER } from '../src/ledger/embedded/msp';
import { EndorseError, type IdentityRef } from '../src/ledger/port';
import {
  creditCode,
  readFirstAdminKey,
  startGateway,
  startTestPostgres,
  tempDir,
  type TestGateway,
  type TestPostgres,
} from './support/harness';
import {
  DELIVERY_END,
  DELIVERY_START,
  INTERVALS,
  MONTH,
  interval,
  ledgerOf,
  waitFinal,
} from './trades-fixture';

jest.setTimeout(300000);

const TC2 = SECOND_TRADING_CENTER.mspId;
const OR_POLICY = "AND('GridMSP.peer',OR('TradingCenterMSP.peer','TradingCenter2MSP.peer'))";
const GRID_ADMIN: IdentityRef = { mspId: 'GridMSP', name: 'admin' };
const TC_ADMIN: IdentityRef = { mspId: 'TradingCenterMSP', name: 'admin' };
const TC2_ADMIN: IdentityRef = { mspId: TC2, name: 'admin' };
const REGULATOR: IdentityRef = { mspId: 'RegulatorMSP', name: 'regulator' };

type Organisation = 'GridMSP' | 'TradingCenterMSP' | 'RegulatorMSP' | 'TradingCenter2MSP';

interface Member {
  gateway: TestGateway;
  dataDir: string;
  keys: Record<string, string>;
}

describe('a second trading center joins the consortium on the embedded ledger and attests a trade', () => {
  let postgres: TestPostgres;
  let dir: string;
  let ledger: EmbeddedLedger;
  const members = {} as Record<Organisation, Member>;
  const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  let lotId: string;

  const submit = async (identity: IdentityRef, transaction: string, arg: unknown) => {
    const tx = await ledger.submit({ identity, transaction, args: [JSON.stringify(arg)] });
    return JSON.parse(Buffer.from(tx.result).toString('utf8')) as Record<string, unknown>;
  };
  const read = async (transaction: string, ...args: string[]) =>
    JSON.parse(
      Buffer.from(await ledger.evaluate({ identity: REGULATOR, transaction, args })).toString('utf8'),
    ) as Record<string, unknown>;

  async function startMember(organisation: Organisation, roles: Record<string, string>): Promise<Member> {
    const dataDir = join(dir, organisation);
    const gateway = await startGateway({
      dataDir,
      databaseUrl: await postgres.newDatabase(),
      ledger,
      env: {
        GEC_ORGANISATION: organisation,
        EXPIRY_SWEEP_INTERVAL_MS: '0',
        RATE_LIMIT_PER_MINUTE: '0',
        RATE_LIMIT_READS_PER_MINUTE: '0',
      },
    });
    const admin = await readFirstAdminKey(dataDir);
    const keys: Record<string, string> = { admin };
    for (const [role, actsFor] of Object.entries(roles)) {
      const created = await gateway.http
        .post('/v1/api-keys')
        .set('X-API-Key', admin)
        .send({ label: `${role} at ${organisation}`, role, actsFor })
        .expect(201);
      keys[role] = created.body.key as string;
    }
    return { gateway, dataDir, keys };
  }

  /** Poll a read until it answers 200 (a gateway projects the ledger on its own schedule). */
  async function eventually(get: () => Promise<{ status: number; body: unknown }>, what: string) {
    const deadline = Date.now() + 30000;
    for (;;) {
      const res = await get();
      if (res.status === 200) return res.body as Record<string, unknown>;
      if (Date.now() > deadline) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  beforeAll(async () => {
    postgres = await startTestPostgres();
    dir = await tempDir('gec-second-tc-');
    ledger = await EmbeddedLedger.open({ dataDir: join(dir, 'ledger'), sync: false });
    members.GridMSP = await startMember('GridMSP', {
      'energy-platform': 'GRID',
      // The platform's gateway takes trades posted for the second trading center's participant TC-2.
      'trading-center': 'TC-2',
    });
    members.TradingCenterMSP = await startMember('TradingCenterMSP', {});
    members.RegulatorMSP = await startMember('RegulatorMSP', { regulator: 'NEA' });
  });

  afterAll(async () => {
    for (const organisation of [
      'TradingCenter2MSP',
      'RegulatorMSP',
      'TradingCenterMSP',
      'GridMSP',
    ] as const) {
      await members[organisation]?.gateway.close();
    }
    await ledger?.close();
    await postgres?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('admits TradingCenter2MSP to the channel by an update the GridMSP and TradingCenterMSP admins signed', async () => {
    const { rootCertificate } = await ledger.enrolOrganisation(SECOND_TRADING_CENTER);
    // Its CA exists, the channel does not trust it yet: its identities are refused, its gateway does not start.
    await expect(
      ledger.evaluate({ identity: TC2_ADMIN, transaction: 'consortium:GetConsortium' }),
    ).rejects.toThrow(EndorseError);
    await expect(startMember('TradingCenter2MSP', {})).rejects.toThrow(
      /TradingCenter2MSP is not a member of this channel: the ledger refused its identity TradingCenter2MSP\/trading/,
    );
    const { bytes } = ledger.proposeChannelUpdate({
      addOrganisations: { [TC2]: rootCertificate },
      endorsementPolicy: OR_POLICY,
    });
    // One member alone is not a majority.
    await expect(
      ledger.submitChannelUpdate(bytes, [ledger.signChannelUpdate(bytes, GRID_ADMIN)]),
    ).rejects.toMatchObject({ code: 'CONFIG_UPDATE_NOT_ENOUGH_SIGNATURES' });
    const committed = await ledger.submitChannelUpdate(bytes, [
      ledger.signChannelUpdate(bytes, GRID_ADMIN),
      ledger.signChannelUpdate(bytes, TC_ADMIN),
    ]);
    expect(committed.config.organisations[TC2]).toBe(rootCertificate);
    expect(committed.config.chaincode.endorsementPolicy).toBe(OR_POLICY);
    // A member of the channel, not yet of the consortium: the chaincode gives it no part.
    const consortium = await read('consortium:GetConsortium');
    expect((consortium.organisations as Array<{ mspId: string }>).map((o) => o.mspId)).not.toContain(TC2);
    await expect(
      ledger.submit({
        identity: TC2_ADMIN,
        transaction: 'consortium:RegisterTradeSigningKey',
        args: [JSON.stringify({ keyId: 'early', alg: 'hmac-sha256' })],
      }),
    ).rejects.toThrow(EndorseError);
  });

  it('starts its own gateway (GEC_ORGANISATION=TradingCenter2MSP) once in the channel, holding its own identities only', async () => {
    members.TradingCenter2MSP = await startMember('TradingCenter2MSP', { 'trading-center': 'TC-2' });
    const { gateway, keys } = members.TradingCenter2MSP;
    const list = await gateway.http.get('/v1/api-keys').set('X-API-Key', keys.admin).expect(200);
    const identities = list.body.items.map((k: { fabricIdentity: IdentityRef }) => k.fabricIdentity);
    expect(identities).toEqual(
      expect.arrayContaining([
        { mspId: TC2, name: 'admin' },
        { mspId: TC2, name: 'trading' },
      ]),
    );
    expect(identities.every((i: IdentityRef) => i.mspId === TC2)).toBe(true);
    // In the channel, not yet in the consortium: the chaincode gives its admin no part.
    const early = await gateway.http
      .post('/v1/participants')
      .set('X-API-Key', keys.admin)
      .send({
        id: 'GEN-20',
        kind: 'GENERATOR',
        name: 'GEN-20 有限公司',
        region: '440000',
        creditCode: creditCode(2000),
      })
      .expect(403);
    expect(early.body.code).toBe('UNKNOWN_ORGANISATION');
    // A route only the platform serves names the platform's gateway.
    const refused = await gateway.http
      .post('/v1/meters')
      .set('X-API-Key', keys.admin)
      .send({ meterId: 'M-X', kind: 'GENERATION', owner: 'GEN-21' })
      .expect(403);
    expect(refused.body.code).toBe('SERVED_BY_OTHER_ORGANISATION');
  });

  it('registers it on chain by a strict majority: proposed by the grid, approved by the trading center', async () => {
    const proposed = await submit(GRID_ADMIN, 'consortium:ProposeOrganisation', {
      mspId: TC2,
      role: 'TRADING_CENTER',
      name: 'Guangzhou Power Exchange Center',
    });
    expect(proposed).toMatchObject({ status: 'PROPOSED', approvals: ['GridMSP'] });
    const approved = await submit(TC_ADMIN, 'consortium:ApproveOrganisation', { mspId: TC2 });
    expect(approved).toMatchObject({ status: 'ACTIVE', approvals: ['GridMSP', 'TradingCenterMSP'] });
  });

  it('registers its market participants on the ledger through its own gateway', async () => {
    // The trading center itself is a participant the platform registers (a trading center registers only
    // generators and consumers).
    await members.GridMSP.gateway.http
      .post('/v1/participants')
      .set('X-API-Key', members.GridMSP.keys.admin)
      .send({
        id: 'TC-2',
        kind: 'TRADING_CENTER',
        name: '广州电力交易中心',
        region: '440000',
        creditCode: creditCode(2001),
      })
      .expect(201);
    const tc2 = members.TradingCenter2MSP;
    for (const [id, kind, n] of [
      ['GEN-21', 'GENERATOR', 2021],
      ['CON-21', 'CONSUMER', 2022],
    ] as const) {
      const res = await tc2.gateway.http
        .post('/v1/participants')
        .set('X-API-Key', tc2.keys.admin)
        .send({ id, kind, name: `${id} 有限公司`, region: '440000', creditCode: creditCode(n) })
        .expect(201);
      expect(res.body).toMatchObject({ id, kind, status: 'ACTIVE' });
    }
    const onLedger = await read('identity:GetParticipant', 'GEN-21');
    expect(onLedger).toMatchObject({ registeredByMsp: TC2 });
  });

  it('registers its trade-signing key on the ledger with its own admin; the platform takes it from there', async () => {
    const publicKeyPem = signingKey.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const tc2 = members.TradingCenter2MSP;
    await eventually(
      () => tc2.gateway.http.get('/v1/participants/TC-2').set('X-API-Key', tc2.keys.admin),
      'TC-2 projected at the second trading center',
    );
    const registered = await tc2.gateway.http
      .post('/v1/trading-centers/TC-2/check-keys')
      .set('X-API-Key', tc2.keys.admin)
      .send({ keyId: 'tc2-p256', alg: 'ecdsa-p256-sha256', publicKeyPem })
      .expect(201);
    expect(registered.body).toMatchObject({ organisation: TC2, verifiedBy: 'CHAINCODE' });
    const key = await read(
      'consortium:GetTradeSigningKey',
      JSON.stringify({ mspId: TC2, keyId: 'tc2-p256' }),
    );
    expect(key).toMatchObject({ alg: 'ecdsa-p256-sha256', status: 'ACTIVE' });

    const grid = members.GridMSP;
    await grid.gateway.http
      .post('/v1/trading-centers/TC-2/check-keys')
      .set('X-API-Key', grid.keys.admin)
      .send({ keyId: 'tc2-p256', alg: 'ecdsa-p256-sha256', publicKeyPem, organisation: TC2 })
      .expect(201);
  });

  it('the platform meters and issues for the second trading center’s generator and consumer', async () => {
    const grid = members.GridMSP;
    const platform = grid.keys['energy-platform'];
    await submit(GRID_ADMIN, 'units:RegisterUnit', {
      id: 'U-GEN-21',
      owner: 'GEN-21',
      name: 'GEN-21 风电场',
      projectCode: 'P4401002024000021',
      technology: 'WIND',
      capacityKw: 50000,
      province: '440000',
      meterIds: ['M-GEN-21'],
      commissioningDate: '2024-06-30',
    });
    await submit(GRID_ADMIN, 'metering:RegisterConsumptionMeter', {
      meterId: 'M-CON-21',
      consumer: 'CON-21',
    });
    for (const [meterId, kind, owner, kwh] of [
      ['M-GEN-21', 'GENERATION', 'GEN-21', 100],
      ['M-CON-21', 'CONSUMPTION', 'CON-21', 10],
    ] as const) {
      await eventually(
        () => grid.gateway.http.get(`/v1/participants/${owner}`).set('X-API-Key', platform),
        `${owner} projected at the platform`,
      );
      await grid.gateway.http
        .post('/v1/meters')
        .set('X-API-Key', platform)
        .send({ meterId, kind, owner, ...(kind === 'GENERATION' ? { unitId: 'U-GEN-21' } : {}) })
        .expect(201);
      const lines = Array.from({ length: INTERVALS }, (_, i) =>
        JSON.stringify({ meterId, intervalStart: interval(i), kwh: String(kwh) }),
      );
      await grid.gateway.http
        .post('/v1/meter-readings?mode=atomic')
        .set('X-API-Key', platform)
        .set('Content-Type', 'application/x-ndjson')
        .send(`${lines.join('\n')}\n`)
        .expect(200);
      await grid.gateway.http
        .post(`/v1/meters/${meterId}/periods/${MONTH}/close`)
        .set('X-API-Key', platform)
        .send({})
        .expect(200);
    }
    const issuance = await submit(GRID_ADMIN, 'certificates:Issue', { unitId: 'U-GEN-21', month: MONTH });
    lotId = issuance.lotId as string;
    expect(issuance.certificates).toBeGreaterThanOrEqual(10);
  });

  it('a trade it signed, posted to the platform’s gateway, is verified, attested with its key and COMMITTED', async () => {
    const grid = members.GridMSP;
    const trade = {
      tradeId: 'T-TC2-0001',
      kind: 'GREEN_POWER',
      seller: 'GEN-21',
      buyer: 'CON-21',
      volumeKwh: 10000,
      priceFen: 4_500_000,
      currency: 'CNY',
      deliveryStart: DELIVERY_START,
      deliveryEnd: DELIVERY_END,
      sellerUnitIds: ['U-GEN-21'],
      buyerMeterIds: ['M-CON-21'],
      lots: [{ lotId, volume: 10 }],
    };
    await eventually(
      () => grid.gateway.http.get(`/v1/lots/${lotId}`).set('X-API-Key', grid.keys.admin),
      'the lot projected at the platform',
    );
    const signature = sign(
      'sha256',
      Buffer.from(canonicalize(trade) as string, 'utf8'),
      signingKey.privateKey,
    );
    await grid.gateway.http
      .post('/v1/trades')
      .set('X-API-Key', grid.keys['trading-center'])
      .set('Idempotency-Key', trade.tradeId)
      .send({
        trade,
        checkData: { keyId: 'tc2-p256', alg: 'ecdsa-p256-sha256', signature: signature.toString('base64') },
      })
      .expect(202);
    const final = await waitFinal(
      (id) => grid.gateway.http.get(`/v1/trades/${id}`).set('X-API-Key', grid.keys.admin),
      trade.tradeId,
    );
    expect(final).toMatchObject({ state: 'COMMITTED', voucherId: 'VCH-T-TC2-0001' });

    const attested = await read('trades:GetTrade', trade.tradeId);
    expect(attested).toMatchObject({
      tradingCenter: TC2,
      attestedByMsp: 'GridMSP',
      voucherId: 'VCH-T-TC2-0001',
      signature: { keyId: 'tc2-p256', alg: 'ecdsa-p256-sha256', verifiedBy: 'CHAINCODE' },
    });
    expect(await read('trades:CheckTradeSignature', trade.tradeId)).toMatchObject({
      valid: true,
      signatureVerifies: true,
    });
    expect(await read('vouchers:GetVoucher', 'VCH-T-TC2-0001')).toMatchObject({
      consumer: 'CON-21',
      status: 'IN_CUSTODY',
    });
  });

  it('it releases the voucher through its own gateway’s ledger port (endorsed by the platform and itself, the voucher’s key policy)', async () => {
    // Through the port rather than POST /v1/vouchers/{id}/release: the trade was posted to the platform's
    // gateway, so this gateway has no trade row binding the voucher to TC-2, which that route checks for a
    // trading-center key (README, one organisation per gateway).
    // The first trading center's identity cannot release it, whichever peers endorse: the holder is not its
    // participant (the chaincode's rule; endorsement planning alone would have added the second's peer).
    const first = ledgerOf(members.TradingCenterMSP.gateway.app);
    await expect(
      first.submit({
        identity: { mspId: 'TradingCenterMSP', name: 'trading' },
        transaction: 'vouchers:Release',
        args: [JSON.stringify({ voucherId: 'VCH-T-TC2-0001', holder: 'CON-21' })],
      }),
    ).rejects.toMatchObject({ chaincodeMessage: expect.stringMatching(/^PARTICIPANT_NOT_MANAGED: /) });
    const port = ledgerOf(members.TradingCenter2MSP.gateway.app);
    const released = await port.submit({
      identity: { mspId: TC2, name: 'trading' },
      transaction: 'vouchers:Release',
      args: [JSON.stringify({ voucherId: 'VCH-T-TC2-0001', holder: 'CON-21' })],
    });
    expect(released.validationCode).toBe('VALID');
    expect(await read('vouchers:GetVoucher', 'VCH-T-TC2-0001')).toMatchObject({ status: 'RELEASED' });
    // The voucher's key-level policy (the platform AND the trading center its holder is held through) chose the
    // endorsers, as the Fabric Gateway's planning does: not the chaincode policy's first choice (GridMSP and
    // TradingCenterMSP), which the committer would have refused.
    const block = common.Block.deserializeBinary((await ledger.getBlock(released.blockNumber))!);
    const tx = block
      .getData()!
      .getDataList_asU8()
      .map((bytes) => decodeTransaction(bytes))
      .find((t) => t.txId === released.txId)!;
    const endorsers = tx.endorsed!.endorsements.map((e) =>
      msp.SerializedIdentity.deserializeBinary(e.endorser).getMspid(),
    );
    expect(endorsers).toEqual(expect.arrayContaining(['GridMSP', TC2]));
  });

  it('the regulator’s gateway projects the voucher and the second trading center’s participants', async () => {
    const regulator = members.RegulatorMSP;
    const voucher = await eventually(
      () =>
        regulator.gateway.http.get('/v1/vouchers/VCH-T-TC2-0001').set('X-API-Key', regulator.keys.regulator),
      'the voucher projected at the regulator',
    );
    expect(voucher).toMatchObject({ id: 'VCH-T-TC2-0001', consumer: 'CON-21' });
    const participant = await eventually(
      () => regulator.gateway.http.get('/v1/participants/GEN-21').set('X-API-Key', regulator.keys.regulator),
      'GEN-21 projected at the regulator',
    );
    expect(participant).toMatchObject({ id: 'GEN-21', status: 'ACTIVE' });
    // The regulator's integrity checks pass over a chain with a configuration block beyond block 0: every
    // block (the CONFIG block's orderer signature and txId index included), and what its gateway projected.
    expect(ledger.channelConfigBlock).toBeGreaterThan(0);
    const chain = await regulator.gateway.http
      .get('/v1/audit/chain')
      .set('X-API-Key', regulator.keys.regulator)
      .expect(200);
    expect(chain.body).toMatchObject({ ok: true, failureCount: 0 });
    expect(chain.body.blocksChecked).toBeGreaterThan(ledger.channelConfigBlock);
    const projection = await regulator.gateway.http
      .get('/v1/audit/projection')
      .set('X-API-Key', regulator.keys.regulator)
      .expect(200);
    expect(projection.body.ok).toBe(true);
    expect(await ledger.verifyChain()).toMatchObject({ ok: true });
  });

  it('the first trading center cannot change the second’s participants (403 PARTICIPANT_NOT_MANAGED)', async () => {
    const trading = members.TradingCenterMSP;
    await eventually(
      () => trading.gateway.http.get('/v1/participants/CON-21').set('X-API-Key', trading.keys.admin),
      'CON-21 projected at the first trading center',
    );
    const res = await trading.gateway.http
      .post('/v1/participants/CON-21/status')
      .set('X-API-Key', trading.keys.admin)
      .send({ status: 'SUSPENDED', reason: 'not ours to suspend' })
      .expect(403);
    expect(res.body.code).toBe('PARTICIPANT_NOT_MANAGED');
    expect(await read('identity:GetParticipant', 'CON-21')).toMatchObject({ status: 'ACTIVE' });
  });
});
