/**
 * Fabric client errors → the port's errors, for both adapters.
 *
 * fabric-gateway: `EndorseError`, `SubmitError` and `CommitStatusError` extend `GatewayError` (SubmitError is
 * exported as a type only, so classes are told apart by `err.name`); the chaincode's own message is in
 * `err.details[].message` as `chaincode response 500, CODE: message`. fabric-network 2.2: an endorsement
 * failure is a plain Error whose message lists `peer=…, status=500, message=CODE: message` per peer, and a
 * commit failure is a `TransactionError` with `transactionCode` = the validation code name.
 */
import {
  CommitError,
  EndorseError,
  ValidationCode,
  type CommitStatus,
  type ValidationCodeName,
} from '../port';

/** The chaincode's error (`CODE: message`) inside a peer message, and the chaincode response status. */
const CHAINCODE_RESPONSE = /chaincode response (\d+), ([\s\S]*)$/;
/** fabric-network's per-peer lines: `peer=<name>, status=<n>, message=<text>`. */
const LEGACY_PEER_LINE = /peer=[^,]*, status=(\d+|grpc), message=(.*)$/;

export interface ExtractedMessage {
  message: string;
  status: number;
}

/** The most useful message among a node's messages: a chaincode response first, then the first message. */
export function extractChaincodeMessage(messages: string[], fallbackStatus = 500): ExtractedMessage {
  for (const message of messages) {
    const match = CHAINCODE_RESPONSE.exec(message);
    if (match) return { status: Number(match[1]), message: match[2].trim() };
  }
  for (const message of messages) {
    const match = LEGACY_PEER_LINE.exec(message);
    if (match)
      return { status: match[1] === 'grpc' ? fallbackStatus : Number(match[1]), message: match[2].trim() };
  }
  const first = messages.find((m) => m.trim() !== '');
  return { status: fallbackStatus, message: first?.trim() ?? 'unknown error' };
}

interface GatewayErrorLike {
  name: string;
  message: string;
  code?: unknown;
  details?: Array<{ address?: string; mspId?: string; message?: string }>;
  transactionId?: string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** Names of the fabric-gateway errors that mean "nothing committed" (all extend GatewayError). */
const GATEWAY_ERROR_NAMES = new Set(['GatewayError', 'EndorseError', 'SubmitError', 'CommitStatusError']);

/** True for any fabric-gateway GatewayError subclass, checked by name (SubmitError is not a runtime export). */
export function isGatewayError(err: unknown): err is GatewayErrorLike {
  return isObject(err) && typeof err.name === 'string' && GATEWAY_ERROR_NAMES.has(err.name);
}

/** A validation code name for a numeric code (unknown numbers become INVALID_OTHER_REASON). */
export function validationCodeName(code: number): ValidationCodeName {
  const name = ValidationCode[code] as ValidationCodeName | undefined;
  return name ?? 'INVALID_OTHER_REASON';
}

export function validationCodeFromName(name: string): ValidationCodeName {
  return name in ValidationCode && Number.isNaN(Number(name))
    ? (name as ValidationCodeName)
    : 'INVALID_OTHER_REASON';
}

/** The port's CommitError for a commit status that is not VALID. */
export function commitError(txId: string, blockNumber: number, code: number | string): CommitError {
  const validationCode = typeof code === 'number' ? validationCodeName(code) : validationCodeFromName(code);
  const status: CommitStatus = { txId, blockNumber, validationCode, successful: false };
  return new CommitError(status);
}

/**
 * Map an error thrown by `@hyperledger/fabric-gateway` to the port: GatewayError subclasses become the port's
 * EndorseError (chaincode message from `details`), the library's CommitError becomes the port's CommitError
 * with the same validation code name. Anything else is returned unchanged.
 */
export function mapGatewayError(err: unknown, txId: string): unknown {
  if (err instanceof EndorseError || err instanceof CommitError) return err;
  if (isGatewayError(err)) {
    const messages = (err.details ?? []).map((d) => d.message ?? '');
    messages.push(err.message);
    // SubmitError / CommitStatusError: the orderer or the commit-status call failed, not the chaincode.
    const fallback = err.name === 'SubmitError' || err.name === 'CommitStatusError' ? 503 : 500;
    const { message, status } = extractChaincodeMessage(messages, fallback);
    return new EndorseError(err.transactionId ?? txId, message, status);
  }
  if (isObject(err) && err.name === 'CommitError' && typeof err.code === 'number') {
    const id = typeof err.transactionId === 'string' ? err.transactionId : txId;
    // The library's CommitError carries no block number.
    return commitError(id, -1, err.code);
  }
  return err;
}

/**
 * Map an error thrown by `fabric-network` 2.2: TransactionError (invalid at commit) → CommitError with the same
 * code name; "No valid responses from any peers" (endorsement) → EndorseError with the chaincode message.
 */
export function mapNetworkError(err: unknown, txId: string): unknown {
  if (err instanceof EndorseError || err instanceof CommitError) return err;
  if (!isObject(err) || typeof err.message !== 'string') return err;
  if (err.name === 'TransactionError' && typeof err.transactionCode === 'string') {
    return commitError(
      typeof err.transactionId === 'string' ? err.transactionId : txId,
      -1,
      err.transactionCode,
    );
  }
  if (err.name === 'TimeoutError') return err;
  // An evaluation the peer answered with an error: fabric-network copies the response onto the Error, so
  // `message` is the chaincode's own message and `status` its status.
  if ('isEndorsed' in err && err.isEndorsed === false && typeof err.status === 'number') {
    return new EndorseError(txId, err.message, err.status);
  }
  const responses = Array.isArray(err.responses) ? (err.responses as unknown[]) : [];
  const messages: string[] = [];
  for (const response of responses) {
    const inner = isObject(response) && isObject(response.response) ? response.response : undefined;
    if (
      inner &&
      typeof inner.status === 'number' &&
      inner.status >= 400 &&
      typeof inner.message === 'string'
    ) {
      messages.push(`chaincode response ${inner.status}, ${inner.message}`);
    }
  }
  messages.push(...err.message.split('\n').map((line) => line.trim()));
  if (
    messages.length > 0 &&
    (err.message.includes('No valid responses from any peers') ||
      responses.length > 0 ||
      err.message.includes('chaincode response'))
  ) {
    const { message, status } = extractChaincodeMessage(
      messages.filter((m) => !m.startsWith('No valid responses')),
    );
    return new EndorseError(txId, message, status);
  }
  return err;
}

/**
 * Whether an endorsement failed because the endorsing peers simulated the transaction on different states: the
 * Fabric Gateway's "ProposalResponsePayloads do not match", fabric-network's "Peer endorsements do not match".
 * On a healthy channel that is one peer still a block behind the other (a write that just committed on one org's
 * peer, read by the next transaction on another's); endorsing the same proposal again a moment later succeeds.
 */
export function isEndorsementMismatch(err: unknown): boolean {
  if (!isObject(err)) return false;
  const texts = [String(err.message ?? '')];
  if (Array.isArray(err.details)) {
    for (const detail of err.details) if (isObject(detail)) texts.push(String(detail.message ?? ''));
  }
  return texts.some((text) => /(ProposalResponsePayloads|Peer endorsements) do not match/.test(text));
}

/** The pauses before endorsing again after a mismatch: a peer a block behind catches up within a block time. */
export const ENDORSEMENT_MISMATCH_RETRY_MS = [100, 250, 500, 1000];

/** Run `endorse`, again after each pause of ENDORSEMENT_MISMATCH_RETRY_MS while it fails on a mismatch. */
export async function endorseRetryingMismatch<T>(endorse: () => Promise<T>): Promise<T> {
  for (const pause of ENDORSEMENT_MISMATCH_RETRY_MS) {
    try {
      return await endorse();
    } catch (err) {
      if (!isEndorsementMismatch(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
  return endorse();
}
