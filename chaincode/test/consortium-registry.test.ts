/**
 * The registry is read from the state by every transaction and parsed once per distinct stored value: a
 * membership change is seen by the next transaction that reads it, in the same chaincode process, while a
 * transaction that read the earlier value keeps it; and no transaction can alter what another one gets.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import type { Context } from 'fabric-contract-api';
import { activeMember } from '../src/consortium/organisation';
import { loadConsortium } from '../src/consortium/registry';
import { TradeSigningKey, tradeSignatureVerifies } from '../src/consortium/trade-signing-key';

function registry(tc2Status: 'PROPOSED' | 'ACTIVE') {
  return {
    initialised: true,
    initialisedAt: '2026-01-01T00:00:00.000Z',
    initialisedTxId: 'tx0',
    initialisedBy: 'x509::/CN=admin::/CN=ca.GridMSP',
    organisations: [
      ['GridMSP', 'PLATFORM_OPERATOR', 'ACTIVE'],
      ['TradingCenter2MSP', 'TRADING_CENTER', tc2Status],
      ['TradingCenterMSP', 'TRADING_CENTER', 'ACTIVE'],
    ].map(([mspId, role, status]) => ({
      mspId,
      role,
      name: mspId,
      status,
      approvals: ['GridMSP'],
      proposedAt: '',
      proposedTxId: '',
      admittedAt: '',
      admittedTxId: '',
    })),
  };
}

/** A peer's state holding one registry value, and the keys each transaction read. */
function peerState(value: unknown) {
  const state = { bytes: Buffer.from(JSON.stringify(value)), reads: [] as string[] };
  const transaction = (): Context =>
    ({
      stub: {
        createCompositeKey: (type: string, attributes: string[]) =>
          `\u0000${[type, ...attributes].join('\u0000')}\u0000`,
        getState: async (key: string) => {
          state.reads.push(key);
          // A fresh buffer each time, as a peer returns it.
          return Buffer.from(state.bytes);
        },
      },
    }) as unknown as Context;
  return { state, transaction };
}

describe('the consortium registry, parsed once per stored value', () => {
  it('is read from the state by every transaction, even when its value is unchanged', async () => {
    const { state, transaction } = peerState(registry('ACTIVE'));
    const first = await loadConsortium(transaction());
    const second = await loadConsortium(transaction());
    expect(state.reads).toEqual(['\u0000gec.consortium\u0000', '\u0000gec.consortium\u0000']);
    // The same bytes: the same parsed registry, not parsed again.
    expect(second).toBe(first);
  });

  it('sees a membership change committed between two transactions in the same process', async () => {
    const { state, transaction } = peerState(registry('PROPOSED'));
    const before = await loadConsortium(transaction());
    expect(activeMember(before, 'TradingCenter2MSP')).toBeUndefined();

    state.bytes = Buffer.from(JSON.stringify(registry('ACTIVE')));
    const after = await loadConsortium(transaction());
    expect(activeMember(after, 'TradingCenter2MSP')?.role).toBe('TRADING_CENTER');
    // The transaction that read the earlier value keeps what it read.
    expect(activeMember(before, 'TradingCenter2MSP')).toBeUndefined();

    // And back (a value seen before is parsed from its own bytes again, never taken from a later one).
    state.bytes = Buffer.from(JSON.stringify(registry('PROPOSED')));
    expect(activeMember(await loadConsortium(transaction()), 'TradingCenter2MSP')).toBeUndefined();
  });

  it('cannot be changed by a transaction for the next one', async () => {
    const { transaction } = peerState(registry('ACTIVE'));
    const shared = await loadConsortium(transaction());
    expect(() => shared.organisations.push(shared.organisations[0])).toThrow(TypeError);
    expect(() => {
      (shared.organisations[1] as { status: string }).status = 'PROPOSED';
    }).toThrow(TypeError);
    expect(() => shared.organisations[0].approvals.push('TradingCenterMSP')).toThrow(TypeError);
    expect(activeMember(await loadConsortium(transaction()), 'TradingCenter2MSP')?.status).toBe('ACTIVE');
  });

  it('still refuses a malformed stored registry on every read', async () => {
    const { transaction } = peerState({ initialised: true, organisations: [{ mspId: 'X', role: 'KING' }] });
    await expect(loadConsortium(transaction())).rejects.toThrow('malformed organisation');
    await expect(loadConsortium(transaction())).rejects.toThrow('malformed organisation');
  });
});

describe('trade-signing keys, parsed once per PEM text', () => {
  const keyOf = (publicKeyPem: string) =>
    Object.assign(new TradeSigningKey(), { alg: 'ecdsa-p256-sha256', publicKeyPem, sm2Id: '' });
  const message = Buffer.from('{"tradeId":"T-1"}');

  it('verify with the key each PEM holds: a replaced key never verifies with the one parsed before', () => {
    const first = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const second = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = (k: typeof first) => k.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const signature = sign('sha256', message, first.privateKey);
    expect(tradeSignatureVerifies(keyOf(pem(first)), message, signature)).toBe(true);
    expect(tradeSignatureVerifies(keyOf(pem(first)), message, signature)).toBe(true);
    expect(tradeSignatureVerifies(keyOf(pem(second)), message, signature)).toBe(false);
    expect(
      tradeSignatureVerifies(keyOf(pem(second)), message, sign('sha256', message, second.privateKey)),
    ).toBe(true);
  });

  it('a stored PEM that does not parse verifies nothing, every time', () => {
    const broken = keyOf('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n');
    expect(tradeSignatureVerifies(broken, message, Buffer.alloc(64, 1))).toBe(false);
    expect(tradeSignatureVerifies(broken, message, Buffer.alloc(64, 1))).toBe(false);
  });
});
