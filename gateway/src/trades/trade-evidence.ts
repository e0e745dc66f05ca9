import type { DataSource } from 'typeorm';
import type { IdentityRef, LedgerPort } from '../ledger/port';
import { periodReadings } from '../metering/period-digest';
import { canonical, sha256Hex, TradeRow } from './trade-model';
import type { MeterEvidence } from './trade-verifier';

export interface MeterEvidenceCheck {
  meterId: string;
  period: string;
  version: number;
  /** The attestation digest used when the trade was verified. */
  digest: string;
  /** The same attestation version's digest on the ledger now. */
  ledgerDigest: string | null;
  /** The Merkle root of the readings stored now. */
  readingsDigest: string | null;
  readingsTotalWh: string;
  matches: boolean;
}

export interface TradeEvidence {
  tradeId: string;
  ok: boolean;
  txId: string;
  tradeDataHash: { stored: string; recomputed: string; ledger: string; matches: boolean };
  checkDataHash: { stored: string; recomputed: string; ledger: string; matches: boolean };
  meterEvidenceDigest: { stored: string; recomputed: string; ledger: string; matches: boolean };
  meters: MeterEvidenceCheck[];
}

async function evaluateJson<T>(
  ledger: LedgerPort,
  identity: IdentityRef,
  transaction: string,
  arg: string,
): Promise<T> {
  return JSON.parse(
    Buffer.from(await ledger.evaluate({ identity, transaction, args: [arg] })).toString('utf8'),
  ) as T;
}

/**
 * The evidence behind a committed trade, checked again now: the stored trade data and check data still hash to
 * what the ledger's attestation holds; the meter evidence list still digests to the ledger's
 * meterEvidenceDigest; each meter-month's attestation version on the ledger still has the digest used; and the
 * readings stored now still give that Merkle root.
 */
export async function checkTradeEvidence(
  dataSource: DataSource,
  ledger: LedgerPort,
  identity: IdentityRef,
  row: TradeRow,
): Promise<TradeEvidence> {
  const onLedger = await evaluateJson<{
    txId: string;
    tradeDataHash: string;
    checkDataHash: string;
    meterEvidenceDigest: string;
  }>(ledger, identity, 'trades:GetTrade', row.trade_id);
  const evidence = (row.meter_evidence ?? []) as MeterEvidence[];
  const compare = (stored: string | null, recomputed: string, onChain: string) => ({
    stored: (stored ?? '').trim(),
    recomputed,
    ledger: onChain,
    matches: (stored ?? '').trim() === recomputed && recomputed === onChain,
  });
  const meters: MeterEvidenceCheck[] = [];
  for (const item of evidence) {
    let ledgerDigest: string | null = null;
    try {
      const attestation = await evaluateJson<{ versions: Array<{ version: number; digest: string }> }>(
        ledger,
        identity,
        'metering:GetMeterAttestation',
        JSON.stringify({ meterId: item.meterId, period: item.period }),
      );
      ledgerDigest = attestation.versions.find((v) => v.version === item.version)?.digest ?? null;
    } catch {
      ledgerDigest = null;
    }
    const stored = await periodReadings(
      (sql, params) => dataSource.query(sql, params),
      item.meterId,
      item.period,
    );
    const readingsDigest = stored.digest;
    meters.push({
      meterId: item.meterId,
      period: item.period,
      version: item.version,
      digest: item.digest,
      ledgerDigest,
      readingsDigest,
      readingsTotalWh: stored.totalWh,
      matches:
        ledgerDigest === item.digest && readingsDigest === item.digest && stored.totalWh === item.totalWh,
    });
  }
  const tradeDataHash = compare(row.trade_data_hash, sha256Hex(canonical(row.trade)), onLedger.tradeDataHash);
  const checkDataHash = compare(
    row.check_data_hash,
    sha256Hex(canonical(row.check_data)),
    onLedger.checkDataHash,
  );
  const meterEvidenceDigest = compare(
    row.meter_evidence_digest,
    sha256Hex(canonical(evidence)),
    onLedger.meterEvidenceDigest,
  );
  return {
    tradeId: row.trade_id,
    ok:
      tradeDataHash.matches &&
      checkDataHash.matches &&
      meterEvidenceDigest.matches &&
      meters.every((m) => m.matches),
    txId: onLedger.txId,
    tradeDataHash,
    checkDataHash,
    meterEvidenceDigest,
    meters,
  };
}
