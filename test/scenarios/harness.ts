/**
 * What a conformance scenario gets: a ledger behind the port and the consortium's identities. Scenarios are
 * written once and run on every ledger (embedded, fabric-gateway, fabric-network); each uses fresh ids so
 * they can share one long-lived network.
 */
import { randomBytes } from 'node:crypto';
import type { ChaincodeEvent, EventStream, IdentityRef, LedgerPort } from '../../gateway/src/ledger/port';

export interface ScenarioIds {
  gridAdmin: IdentityRef;
  gridPlatform: IdentityRef;
  tradingAdmin: IdentityRef;
  tradingClient: IdentityRef;
  regulator: IdentityRef;
}

export interface Scenario {
  name: string;
  run(ledger: LedgerPort, ids: ScenarioIds): Promise<void>;
}

/** A participant id unique to this run (ids allow letters, digits, '-' and '_'). */
export function uniqueId(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex').toUpperCase()}`;
}

/** A valid unified social credit code (GB 32100 shape). */
export const CREDIT_CODE = '91110000100000000X';

export const json = (bytes: Uint8Array): unknown => JSON.parse(Buffer.from(bytes).toString('utf8'));

export function register(
  ledger: LedgerPort,
  identity: IdentityRef,
  participant: { id: string; kind: string; name?: string; region?: string },
  /** null: no credit code in the transient map. */
  creditCode: string | null = CREDIT_CODE,
) {
  return ledger.submit({
    identity,
    transaction: 'identity:RegisterParticipant',
    args: [JSON.stringify({ name: `Participant ${participant.id}`, region: '110000', ...participant })],
    transient: creditCode === null ? undefined : { creditCode },
  });
}

export function setStatus(
  ledger: LedgerPort,
  identity: IdentityRef,
  id: string,
  status: string,
  reason = 'conformance',
) {
  return ledger.submit({
    identity,
    transaction: 'identity:SetParticipantStatus',
    args: [JSON.stringify({ id, status, reason })],
  });
}

export async function getParticipant(ledger: LedgerPort, identity: IdentityRef, id: string) {
  return json(
    await ledger.evaluate({ identity, transaction: 'identity:GetParticipant', args: [id] }),
  ) as Record<string, unknown>;
}

/** The next `count` items of a stream, or fail after `timeoutMs` (events are awaited, never slept for). */
export async function take<T>(stream: EventStream<T>, count: number, timeoutMs = 30_000): Promise<T[]> {
  const items: T[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      stream.close();
      reject(new Error(`only ${items.length} of ${count} events within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  const read = (async () => {
    for await (const item of stream) {
      items.push(item);
      if (items.length >= count) break;
    }
    return items;
  })();
  try {
    return await Promise.race([read, timeout]);
  } finally {
    clearTimeout(timer);
    stream.close();
  }
}

/** Events of this chaincode until one satisfies `match` (other scenarios may write in between). */
export async function findEvent(
  stream: EventStream<ChaincodeEvent>,
  match: (event: ChaincodeEvent) => boolean,
  timeoutMs = 30_000,
): Promise<ChaincodeEvent[]> {
  const seen: ChaincodeEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      stream.close();
      reject(new Error(`no matching event within ${timeoutMs} ms (saw ${seen.length})`));
    }, timeoutMs);
  });
  const read = (async () => {
    for await (const event of stream) {
      seen.push(event);
      if (match(event)) break;
    }
    return seen;
  })();
  try {
    return await Promise.race([read, timeout]);
  } finally {
    clearTimeout(timer);
    stream.close();
  }
}
