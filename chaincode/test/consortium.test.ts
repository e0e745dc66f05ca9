/**
 * The consortium on the ledger: founding members registered once, new members admitted by a strict majority,
 * rules following the registry (a second trading center attests its own trades), and the trading centers'
 * trade-signing keys: AttestTrade refuses a trade its trading center did not sign (forged, missing, wrong key,
 * rotated or revoked key), verified by the chaincode itself, and a regulator re-verifies from the ledger alone.
 */
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { DEFAULT_ORGS } from '../../gateway/src/ledger/embedded/msp';
import { SECOND_TRADING_CENTER } from '../../gateway/src/ledger/embedded/testing';
import { sm2PublicKeyPem, sm2Sign } from '../../gateway/src/signing/sm2';
import { canonicalJson } from '../src/lib/canonical-json';
import { GecClient, expectRefused } from './support/gec-client';
import {
  type Buyer,
  type Seller,
  attestTrade,
  buyer,
  resigned,
  seller,
  tradeOf,
  tradeRequest,
} from './support/trade-fixtures';

const MONTH = '2026-09';
const TC2 = { mspId: 'TradingCenter2MSP', name: 'admin' };
const TC2_ORG = SECOND_TRADING_CENTER;

let gec: GecClient;
let s: Seller;
let b: Buyer;

beforeAll(async () => {
  // The channel admits a fourth organisation's MSP; the consortium's registry does not, until a majority says so.
  gec = await GecClient.start({ batch: { batchTimeoutMs: 1 }, organisations: [...DEFAULT_ORGS, TC2_ORG] });
  s = await seller(gec, MONTH, 40);
  b = await buyer(gec, MONTH, [40_000]);
});

afterAll(() => gec.close());

interface Organisation {
  mspId: string;
  role: string;
  status: string;
  approvals: string[];
}

const registry = () =>
  gec.evaluate<{ initialised: boolean; organisations: Organisation[] }>(
    'consortium:GetConsortium',
    undefined,
  );
const one = (volume = 1) => tradeRequest(gec, s, b, MONTH, [{ lotId: s.lot.id, volume }]);

describe('the founding members', () => {
  it('are registered once; a second InitConsortium is refused (CONSORTIUM_ALREADY_INITIALISED)', async () => {
    const consortium = await registry();
    expect(consortium.initialised).toBe(true);
    expect(consortium.organisations.map((o) => [o.mspId, o.role, o.status])).toEqual([
      ['GridMSP', 'PLATFORM_OPERATOR', 'ACTIVE'],
      ['RegulatorMSP', 'REGULATOR', 'ACTIVE'],
      ['TradingCenterMSP', 'TRADING_CENTER', 'ACTIVE'],
    ]);
    await expectRefused(
      gec.submit(gec.ids.tradingAdmin, 'consortium:InitConsortium', {
        organisations: [{ mspId: 'TradingCenterMSP', role: 'PLATFORM_OPERATOR', name: 'x' }],
      }),
      'CONSORTIUM_ALREADY_INITIALISED',
    );
  });

  it('before registration nobody may do anything but register them, by an admin of one of them', async () => {
    const fresh = await GecClient.start({ initialiseConsortium: false });
    try {
      await expectRefused(
        fresh.submit(fresh.ids.gridAdmin, 'identity:RegisterParticipant', { id: 'x', kind: 'GENERATOR' }),
        'CONSORTIUM_NOT_INITIALISED',
      );
      const founders = [
        { mspId: 'GridMSP', role: 'PLATFORM_OPERATOR', name: 'grid' },
        { mspId: 'TradingCenterMSP', role: 'TRADING_CENTER', name: 'tc' },
      ];
      await expectRefused(
        fresh.submit(fresh.ids.gridPlatform, 'consortium:InitConsortium', { organisations: founders }),
        'ROLE_NOT_PERMITTED',
      );
      await expectRefused(
        fresh.submit(fresh.ids.regulator, 'consortium:InitConsortium', { organisations: founders }),
        'ROLE_NOT_PERMITTED',
        'admin of one of them',
      );
      await expectRefused(
        fresh.submit(fresh.ids.gridAdmin, 'consortium:InitConsortium', { organisations: [founders[0]] }),
        'INVALID_ARGUMENT',
        'TRADING_CENTER',
      );
      await fresh.submit(fresh.ids.gridAdmin, 'consortium:InitConsortium', { organisations: founders });
      // Not a founder: the regulator's organisation is outside this consortium.
      await expectRefused(
        fresh.evaluate('identity:ListParticipants', {}, fresh.ids.regulator),
        'UNKNOWN_ORGANISATION',
      );
    } finally {
      await fresh.close();
    }
  });
});

describe('a second trading center', () => {
  let tc2TradeId = '';
  const tc2Key = { keyId: 'tc2-key-1', ...generateKeyPairSync('ec', { namedCurve: 'P-256' }) };

  it('is refused everything until a strict majority of the members has admitted it', async () => {
    await expectRefused(
      gec.submit(TC2, 'consortium:ProposeOrganisation', { mspId: 'X', role: 'TRADING_CENTER', name: 'x' }),
      'UNKNOWN_ORGANISATION',
    );
    await expectRefused(
      gec.submit(gec.ids.gridPlatform, 'consortium:ProposeOrganisation', {
        mspId: TC2.mspId,
        role: 'TRADING_CENTER',
        name: '第二交易中心',
      }),
      'ROLE_NOT_PERMITTED',
    );
    const proposed = await gec.call<Organisation>(gec.ids.gridAdmin, 'consortium:ProposeOrganisation', {
      mspId: TC2.mspId,
      role: 'TRADING_CENTER',
      name: '第二交易中心',
    });
    expect(proposed).toMatchObject({ status: 'PROPOSED', approvals: ['GridMSP'] });
    await expectRefused(
      gec.submit(gec.ids.gridAdmin, 'consortium:ApproveOrganisation', { mspId: TC2.mspId }),
      'ORGANISATION_ALREADY_APPROVED',
    );
    await expectRefused(
      gec.submit(gec.ids.gridAdmin, 'consortium:ProposeOrganisation', {
        mspId: TC2.mspId,
        role: 'TRADING_CENTER',
        name: 'again',
      }),
      'ORGANISATION_EXISTS',
    );
    await expectRefused(
      gec.submit(gec.ids.gridAdmin, 'consortium:ApproveOrganisation', { mspId: 'NobodyMSP' }),
      'ORGANISATION_NOT_FOUND',
    );
    // One of three is no majority: still nothing allowed.
    await expectRefused(
      gec.submit(TC2, 'consortium:RegisterTradeSigningKey', {
        keyId: tc2Key.keyId,
        alg: 'ecdsa-p256-sha256',
        publicKeyPem: tc2Key.publicKey.export({ type: 'spki', format: 'pem' }),
      }),
      'UNKNOWN_ORGANISATION',
    );
    const admitted = await gec.call<Organisation>(gec.ids.tradingAdmin, 'consortium:ApproveOrganisation', {
      mspId: TC2.mspId,
    });
    expect(admitted).toMatchObject({ status: 'ACTIVE', approvals: ['GridMSP', 'TradingCenterMSP'] });
    expect((await registry()).organisations.find((o) => o.mspId === TC2.mspId)?.status).toBe('ACTIVE');
  });

  it('registers its own key and its trades are attested with it, as its own', async () => {
    await gec.submit(TC2, 'consortium:RegisterTradeSigningKey', {
      keyId: tc2Key.keyId,
      alg: 'ecdsa-p256-sha256',
      publicKeyPem: tc2Key.publicKey.export({ type: 'spki', format: 'pem' }),
    });
    const base = one();
    const signed = { ...base, tradingCenter: TC2.mspId, signature: gec.signTrade(base.trade, tc2Key) };
    // Signed by the second trading center, it is not the first's trade: its key does not verify it.
    await expectRefused(
      attestTrade(gec, { ...signed, tradingCenter: 'TradingCenterMSP' }),
      'TRADE_SIGNING_KEY_NOT_FOUND',
    );
    const result = await attestTrade(gec, signed);
    expect(result.trade).toMatchObject({ tradingCenter: TC2.mspId, signature: { keyId: tc2Key.keyId } });
    tc2TradeId = result.trade.tradeId;
    // Its market system acts as a trading center under the registry's rules (not as the MSP the code names).
    await expectRefused(
      gec.submit({ mspId: TC2.mspId, name: 'trading' }, 'consortium:RegisterTradeSigningKey', {
        keyId: 'k',
        alg: 'hmac-sha256',
      }),
      'ROLE_NOT_PERMITTED',
    );
  });

  it('sees only its own trades, as the first trading center sees only its own; the platform and the regulator see all', async () => {
    const firsts = await attestTrade(gec, one());
    const trading2 = { mspId: TC2.mspId, name: 'trading' };
    type TradePageJson = { items: Array<{ tradeId: string; tradingCenter: string }>; bookmark: string };
    const listed = async (identity: { mspId: string; name: string }, query: Record<string, unknown> = {}) =>
      (
        await gec.evaluate<TradePageJson>('trades:ListTrades', { pageSize: 1000, ...query }, identity)
      ).items.map((t) => t.tradeId);
    for (const [identity, own, other] of [
      [trading2, tc2TradeId, firsts.trade.tradeId],
      [gec.ids.tradingClient, firsts.trade.tradeId, tc2TradeId],
    ] as const) {
      expect(await gec.evaluate('trades:GetTrade', own, identity)).toMatchObject({ tradeId: own });
      expect(await gec.evaluate('trades:CheckTradeSignature', own, identity)).toMatchObject({ valid: true });
      await expectRefused(gec.evaluate('trades:GetTrade', other, identity), 'TRADE_NOT_FOUND');
      await expectRefused(gec.evaluate('trades:CheckTradeSignature', other, identity), 'TRADE_NOT_FOUND');
      // By trade id, and by a party both trades share (the buyer): only its own.
      for (const query of [{}, { buyer: b.buyer }, { seller: s.seller }]) {
        const ids = await listed(identity, query);
        expect(ids).toContain(own);
        expect(ids).not.toContain(other);
      }
    }
    for (const identity of [gec.ids.gridPlatform, gec.ids.regulator]) {
      expect(await listed(identity)).toEqual(expect.arrayContaining([tc2TradeId, firsts.trade.tradeId]));
      expect(await gec.evaluate('trades:GetTrade', tc2TradeId, identity)).toMatchObject({
        tradingCenter: TC2.mspId,
      });
    }
  });

  it("holds its participants' certificates under a key-level policy: another trading center's peers cannot move them", async () => {
    const generator = 'gen-tc2';
    await gec.submit(
      TC2,
      'identity:RegisterParticipant',
      { id: generator, kind: 'GENERATOR', name: '第二交易中心的风电场', region: '150000' },
      { creditCode: '91330000MA2CK8RX1L' },
    );
    const held = await seller(gec, MONTH, 5, { owner: generator });
    const transfer = (identity: { mspId: string; name: string }, endorsingOrganizations?: string[]) =>
      gec.ledger.submit({
        identity,
        transaction: 'certificates:Transfer',
        args: [JSON.stringify({ lotId: held.lot.id, from: generator, to: s.seller, volume: 1 })],
        endorsingOrganizations,
      });
    const trading2 = { mspId: TC2.mspId, name: 'trading' };
    const outcome = (submitted: Promise<unknown>) =>
      submitted.then(
        () => 'VALID',
        (error: { status?: { validationCode?: string }; chaincodeMessage?: string }) =>
          error.status?.validationCode ?? error.chaincodeMessage?.split(':')[0] ?? String(error),
      );
    // Asked by the second trading center, endorsed by the platform and the *first* trading center (the chaincode's
    // own policy is met): the lot's key-level policy is not, so validation refuses it and nothing moves.
    expect(await outcome(transfer(trading2, ['GridMSP', 'TradingCenterMSP']))).toBe(
      'ENDORSEMENT_POLICY_FAILURE',
    );
    expect(await gec.lot(held.lot.id)).toMatchObject({ owner: generator, volume: 5 });
    // Asked by the first trading center, whatever the peers: its chaincode refuses to act for another trading
    // center's participant (the endorsing peers run the same rules).
    expect(await outcome(transfer(gec.ids.tradingClient))).toBe('PARTICIPANT_NOT_MANAGED');
    expect(await outcome(transfer(gec.ids.tradingClient, ['GridMSP', 'TradingCenterMSP', TC2.mspId]))).toBe(
      'PARTICIPANT_NOT_MANAGED',
    );
    // Endorsed by the trading center it is held through as well: it moves, and the moved part takes the new
    // holder's policy (a participant the platform registered: the platform with any one trading center).
    const moved = await transfer(trading2, ['GridMSP', 'TradingCenterMSP', TC2.mspId]);
    expect(moved.validationCode).toBe('VALID');
    expect(await gec.lot(held.lot.id)).toMatchObject({ owner: generator, volume: 4 });
    // Left to the ledger, endorsement is planned for the lot's own policy as the Fabric Gateway plans it: the
    // chaincode policy's organisations and the trading center the lot is held through.
    const planned = await transfer(trading2);
    expect(planned.validationCode).toBe('VALID');
    expect(await gec.lot(held.lot.id)).toMatchObject({ owner: generator, volume: 3 });
    // No other market operation of the first trading center reaches it either.
    for (const [transaction, request] of [
      ['certificates:Split', { lotId: held.lot.id, owner: generator, volume: 1 }],
      [
        'certificates:List',
        { listingId: 'L-TC2-1', lotId: held.lot.id, owner: generator, volume: 1, unitPriceFen: 100 },
      ],
      [
        'redemption:Redeem',
        {
          redemptionId: 'R-TC2-1',
          owner: generator,
          beneficiary: 'x',
          purpose: 'x',
          consumptionStartMonth: MONTH,
          consumptionEndMonth: MONTH,
          items: [{ lotId: held.lot.id, volume: 1 }],
        },
      ],
    ] as const) {
      await expectRefused(gec.submit(gec.ids.tradingClient, transaction, request), 'PARTICIPANT_NOT_MANAGED');
    }
  });

  it("registers its own market participants with its market system's identity, and cannot touch the other's", async () => {
    const trading2 = { mspId: TC2.mspId, name: 'trading' };
    await gec.submit(
      trading2,
      'identity:RegisterParticipant',
      { id: 'con-tc2', kind: 'CONSUMER', name: '第二交易中心的用户', region: '150000' },
      { creditCode: '91330000MA2CK8RX1L' },
    );
    await expectRefused(
      gec.submit(
        trading2,
        'identity:RegisterParticipant',
        { id: 'x-tc2', kind: 'GRID_OPERATOR', name: 'x', region: '150000' },
        {
          creditCode: '91330000MA2CK8RX1L',
        },
      ),
      'KIND_NOT_PERMITTED',
    );
    // The first trading center's participant (the fixtures register through TradingCenterMSP): not the second's.
    await expectRefused(
      gec.submit(trading2, 'identity:SetParticipantStatus', {
        id: b.buyer,
        status: 'SUSPENDED',
        reason: 'x',
      }),
      'PARTICIPANT_NOT_MANAGED',
      'manages only its own',
    );
    await gec.submit(trading2, 'identity:SetParticipantStatus', {
      id: 'con-tc2',
      status: 'SUSPENDED',
      reason: '核查',
    });
  });

  it('a platform operator is not a trading center: its name on a trade is refused (NOT_A_TRADING_CENTER)', async () => {
    await expectRefused(attestTrade(gec, { ...one(), tradingCenter: 'GridMSP' }), 'NOT_A_TRADING_CENTER');
    await expectRefused(attestTrade(gec, { ...one(), tradingCenter: 'NobodyMSP' }), 'NOT_A_TRADING_CENTER');
  });
});

describe("the trading center's signature, verified by the chaincode", () => {
  it('refuses a trade without it, with a forged one, or with data changed after signing', async () => {
    const { signature: _none, ...unsigned } = one();
    await expectRefused(attestTrade(gec, unsigned), 'TRADE_SIGNATURE_INVALID', 'without');
    const forger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const forged = one();
    await expectRefused(
      attestTrade(gec, {
        ...forged,
        signature: gec.signTrade(forged.trade, { keyId: 'tc-key-1', ...forger }),
      }),
      'TRADE_SIGNATURE_INVALID',
      'does not verify',
    );
    const changed = one(1);
    await expectRefused(
      attestTrade(gec, { ...changed, trade: { ...tradeOf(changed), priceFen: 1 } }),
      'TRADE_SIGNATURE_INVALID',
    );
    await expectRefused(
      attestTrade(gec, { ...changed, signature: { ...(changed.signature as object), value: 'not base64!' } }),
      'TRADE_SIGNATURE_INVALID',
      'base64',
    );
    await expectRefused(
      attestTrade(gec, { ...changed, signature: { ...(changed.signature as object), alg: 'sm2-sm3' } }),
      'TRADE_SIGNATURE_INVALID',
      'is ecdsa-p256-sha256',
    );
    await expectRefused(
      attestTrade(gec, { ...changed, signature: { ...(changed.signature as object), keyId: 'nope' } }),
      'TRADE_SIGNING_KEY_NOT_FOUND',
    );
    // Re-signed after the change, the same trade passes.
    await attestTrade(gec, resigned(gec, changed, { priceFen: 1 }));
  });

  it('accepts SM2/SM3 signatures (GB/T 32918) with the registered public key', async () => {
    const d = BigInt(`0x${randomBytes(31).toString('hex')}`) + 1n;
    await gec.submit(gec.ids.tradingAdmin, 'consortium:RegisterTradeSigningKey', {
      keyId: 'tc-sm2',
      alg: 'sm2-sm3',
      publicKeyPem: sm2PublicKeyPem(d),
    });
    const request = one();
    const value = sm2Sign(Buffer.from(canonicalJson(request.trade)), d).toString('base64');
    const result = await attestTrade(gec, {
      ...request,
      signature: { keyId: 'tc-sm2', alg: 'sm2-sm3', value },
    });
    expect(result.trade).toMatchObject({ signature: { alg: 'sm2-sm3', verifiedBy: 'CHAINCODE' } });
    const wrong = sm2Sign(Buffer.from('other bytes'), d).toString('base64');
    await expectRefused(
      attestTrade(gec, { ...one(), signature: { keyId: 'tc-sm2', alg: 'sm2-sm3', value: wrong } }),
      'TRADE_SIGNATURE_INVALID',
    );
  });

  it('takes an HMAC key only as the trading center consented on the ledger, marked as verified by the gateway', async () => {
    const request = one();
    const value = createHmac('sha256', randomBytes(32)).update(canonicalJson(request.trade)).digest('base64');
    const hmac = { keyId: 'tc-hmac', alg: 'hmac-sha256', value };
    await expectRefused(attestTrade(gec, { ...request, signature: hmac }), 'TRADE_SIGNING_KEY_NOT_FOUND');
    await expectRefused(
      gec.submit(gec.ids.tradingAdmin, 'consortium:RegisterTradeSigningKey', {
        keyId: 'tc-hmac',
        alg: 'hmac-sha256',
        publicKeyPem: 'x',
      }),
      'INVALID_ARGUMENT',
    );
    await gec.submit(gec.ids.tradingAdmin, 'consortium:RegisterTradeSigningKey', {
      keyId: 'tc-hmac',
      alg: 'hmac-sha256',
    });
    const result = await attestTrade(gec, { ...request, signature: hmac });
    expect(result.trade.signature).toMatchObject({ verifiedBy: 'GATEWAY' });
    const check = await gec.evaluate<Record<string, unknown>>(
      'trades:CheckTradeSignature',
      result.trade.tradeId,
    );
    expect(check).toMatchObject({ verifiedBy: 'GATEWAY', valid: false, tradeDataHashMatches: true });
    expect(check.detail).toMatch(/verified by the platform's gateway only/);
  });

  it('refuses keys that are not what they claim, and key management by anyone but the trading center admin', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    await expectRefused(
      gec.submit(gec.ids.tradingAdmin, 'consortium:RegisterTradeSigningKey', {
        keyId: 'rsa',
        alg: 'ecdsa-p256-sha256',
        publicKeyPem: rsa,
      }),
      'INVALID_ARGUMENT',
      'P-256',
    );
    await expectRefused(
      gec.submit(gec.ids.tradingAdmin, 'consortium:RegisterTradeSigningKey', {
        keyId: 'tc-key-1',
        alg: 'hmac-sha256',
      }),
      'TRADE_SIGNING_KEY_EXISTS',
    );
    for (const identity of [gec.ids.tradingClient, gec.ids.gridAdmin]) {
      await expectRefused(
        gec.submit(identity, 'consortium:RegisterTradeSigningKey', { keyId: 'k2', alg: 'hmac-sha256' }),
        'ROLE_NOT_PERMITTED',
      );
    }
    await expectRefused(
      gec.submit(gec.ids.regulator, 'consortium:EndTradeSigningKey', { keyId: 'tc-key-1', reason: 'x' }),
      'REGULATOR_READ_ONLY',
    );
  });

  it('after a rotation: trades signed before still verify from the ledger; new ones with the old key are refused', async () => {
    const before = await attestTrade(gec, one());
    const next = { keyId: 'tc-key-2', ...generateKeyPairSync('ec', { namedCurve: 'P-256' }) };
    const rotated = await gec.call<Record<string, string>>(
      gec.ids.tradingAdmin,
      'consortium:RegisterTradeSigningKey',
      {
        keyId: next.keyId,
        alg: 'ecdsa-p256-sha256',
        publicKeyPem: next.publicKey.export({ type: 'spki', format: 'pem' }),
        replaces: 'tc-key-1',
      },
    );
    const old = await gec.evaluate<Record<string, string>>('consortium:GetTradeSigningKey', {
      mspId: 'TradingCenterMSP',
      keyId: 'tc-key-1',
    });
    expect(old).toMatchObject({ status: 'RETIRED', replacedBy: 'tc-key-2', validUntil: rotated.validFrom });
    await expectRefused(attestTrade(gec, one()), 'TRADE_SIGNING_KEY_NOT_VALID', 'replaced by tc-key-2');
    const request = one();
    const after = await attestTrade(gec, { ...request, signature: gec.signTrade(request.trade, next) });

    for (const trade of [before.trade, after.trade]) {
      expect(await gec.evaluate('trades:CheckTradeSignature', trade.tradeId)).toMatchObject({
        valid: true,
        signatureVerifies: true,
        keyValidAtAttestation: true,
        tradeDataHashMatches: true,
        verifiedBy: 'CHAINCODE',
      });
    }
    // Revoked (compromised): refused from now on; what was attested before keeps its proof.
    await gec.submit(gec.ids.tradingAdmin, 'consortium:EndTradeSigningKey', {
      keyId: next.keyId,
      reason: '私钥泄露',
      revoked: true,
    });
    const later = one();
    await expectRefused(
      attestTrade(gec, { ...later, signature: gec.signTrade(later.trade, next) }),
      'TRADE_SIGNING_KEY_NOT_VALID',
      'REVOKED',
    );
    await expectRefused(
      gec.submit(gec.ids.tradingAdmin, 'consortium:EndTradeSigningKey', {
        keyId: next.keyId,
        reason: 'again',
      }),
      'TRADE_SIGNING_KEY_NOT_VALID',
    );
    expect(await gec.evaluate('trades:CheckTradeSignature', after.trade.tradeId)).toMatchObject({
      valid: true,
      keyStatus: 'REVOKED',
    });
    const keys = await gec.evaluate<Array<{ keyId: string; status: string }>>(
      'consortium:ListTradeSigningKeys',
      {
        mspId: 'TradingCenterMSP',
      },
    );
    expect(keys.map((k) => [k.keyId, k.status])).toEqual(
      expect.arrayContaining([
        ['tc-key-1', 'RETIRED'],
        ['tc-key-2', 'REVOKED'],
      ]),
    );
  });
});
