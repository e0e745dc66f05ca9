import { Context } from 'fabric-contract-api';
import { activeMember } from '../consortium/organisation';
import { loadedConsortium } from '../consortium/registry';
import {
  TradeSigningKey,
  findTradeSigningKey,
  tradeSignatureVerifies,
} from '../consortium/trade-signing-key';
import { GecError } from '../lib/errors';
import { atOrAfter } from '../lib/months';
import { requireId, requireObject, requireText } from '../lib/validate';
import { TradeSignature } from './trade';

/** base64 of at most 1 KiB of signature: DER ECDSA/SM2 signatures are ≤ 72 bytes, HMAC-SHA256 32. */
const SIGNATURE_BASE64_MAX = 1400;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The trading center's signature over `tradeData` (its canonical JSON), checked against its key on the ledger:
 * the organisation an ACTIVE trading center of the consortium (NOT_A_TRADING_CENTER), the key registered
 * (TRADE_SIGNING_KEY_NOT_FOUND), of the algorithm named, valid at the transaction time
 * (TRADE_SIGNING_KEY_NOT_VALID), and the signature verifying (TRADE_SIGNATURE_INVALID). An hmac-sha256 key is
 * accepted as the trading center's registered consent to the gateway's check, and marked GATEWAY.
 */
export async function requireTradeSignature(
  ctx: Context,
  tradingCenter: string,
  value: unknown,
  tradeData: string,
  now: string,
): Promise<TradeSignature> {
  const member = activeMember(loadedConsortium(ctx), tradingCenter);
  if (member === undefined || member.role !== 'TRADING_CENTER') {
    throw new GecError(
      'NOT_A_TRADING_CENTER',
      `tradingCenter ${tradingCenter} is not an active trading center of the consortium` +
        (member === undefined ? '' : ` (it is a ${member.role})`),
    );
  }
  if (value === undefined || value === null) {
    throw new GecError(
      'TRADE_SIGNATURE_INVALID',
      `trade data without the trading center's signature: ${tradingCenter} must sign it (signature { keyId, alg, value })`,
    );
  }
  const fields = requireObject(value, 'signature', ['keyId', 'alg', 'value']);
  const keyId = requireId(fields.keyId, 'signature.keyId');
  const alg = requireText(fields.alg, 'signature.alg', 32);
  const encoded = requireText(fields.value, 'signature.value', SIGNATURE_BASE64_MAX);
  if (!BASE64.test(encoded) || encoded.length % 4 !== 0) {
    throw new GecError('TRADE_SIGNATURE_INVALID', 'signature.value is not base64');
  }
  const key = await findTradeSigningKey(ctx, tradingCenter, keyId);
  if (key === undefined) {
    throw new GecError(
      'TRADE_SIGNING_KEY_NOT_FOUND',
      `trading center ${tradingCenter} has no trade-signing key ${keyId} on the ledger`,
    );
  }
  if (key.alg !== alg) {
    throw new GecError(
      'TRADE_SIGNATURE_INVALID',
      `trade-signing key ${keyId} of ${tradingCenter} is ${key.alg}; the signature says ${alg}`,
    );
  }
  if (!keyValidAt(key, now)) {
    throw new GecError(
      'TRADE_SIGNING_KEY_NOT_VALID',
      `trade-signing key ${keyId} of ${tradingCenter} is ${key.status}: valid from ${key.validFrom}` +
        (key.validUntil === '' ? '' : ` until ${key.validUntil}`) +
        (key.replacedBy === '' ? '' : `, replaced by ${key.replacedBy}`) +
        `; the transaction time is ${now}`,
    );
  }
  if (key.verifiedBy === 'CHAINCODE') {
    const verifies = tradeSignatureVerifies(
      key,
      Buffer.from(tradeData, 'utf8'),
      Buffer.from(encoded, 'base64'),
    );
    if (!verifies) {
      throw new GecError(
        'TRADE_SIGNATURE_INVALID',
        `the ${key.alg} signature does not verify with key ${keyId} of ${tradingCenter} over the trade's canonical data`,
      );
    }
  }
  return Object.assign(new TradeSignature(), { keyId, alg, value: encoded, verifiedBy: key.verifiedBy });
}

/** validFrom ≤ instant < validUntil (open-ended while ACTIVE). */
export function keyValidAt(key: TradeSigningKey, instant: string): boolean {
  return atOrAfter(instant, key.validFrom) && (key.validUntil === '' || !atOrAfter(instant, key.validUntil));
}
