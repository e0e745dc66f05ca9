import { Context } from 'fabric-contract-api';

/**
 * The transaction time, RFC 3339 in UTC with millisecond precision (`2025-03-01T08:00:00.000Z`).
 *
 * Taken from the proposal's timestamp, which the client sets and every endorser sees identically. Chaincode
 * never reads the system clock: endorsers would disagree.
 */
export function txTime(ctx: Context): string {
  const { seconds, nanos } = ctx.stub.getTxTimestamp();
  // `seconds` is a Long from the shim; its decimal string is exact whatever its representation.
  const millis = Number(String(seconds)) * 1000 + Math.floor((nanos ?? 0) / 1_000_000);
  return new Date(millis).toISOString();
}
