import type { DataSource } from 'typeorm';
import type { CheckKeysService } from '../signing/check-keys.service';
import {
  addMonths,
  canonical,
  kwhToWh,
  monthStartMs,
  sha256Hex,
  shanghaiMonth,
  TradeCheck,
  TradeData,
  TradeRow,
  wholeMonths,
} from './trade-model';

/** Trades that count against a party's generation or consumption: everything attested or being attested. */
const COUNTED_STATES = ['COMMITTED', 'COMMITTING'];
const KWH_PER_CERTIFICATE = 1000;
/** Origin of the interval grid: intervals are aligned in Asia/Shanghai time. */
const GRID_ORIGIN = '2000-01-01T00:00:00+08:00';

export interface MeterEvidence {
  meterId: string;
  period: string;
  version: number;
  totalWh: string;
  digest: string;
  txId: string;
}

export interface Verification {
  checks: TradeCheck[];
  passed: boolean;
  /** kWh per delivery month counted against the seller and the buyer. */
  allocation: Record<string, number>;
  evidence: MeterEvidence[];
  evidenceDigest: string;
  /** The lots with the certificates each gives (for the ledger request). */
  lots: Array<{ lotId: string; volume: number }>;
}

interface LedgerUnit {
  id: string;
  owner: string;
  status: string;
  meterIds: string[];
}

interface LedgerLot {
  id: string;
  owner: string;
  status: string;
  volume: number;
  unitId: string;
  productionMonth: string;
  expiresAt: string;
  tradable: boolean;
  boundToGreenPowerTrade: boolean;
}

interface MeterRow {
  id: string;
  kind: string;
  owner: string;
  unit_id: string | null;
  interval_minutes: number;
}

interface PeriodRow {
  meter_id: string;
  period: string;
  total_wh: string;
  reading_count: number;
  status: string;
  attested_version: number;
  a_version: number | null;
  a_total_wh: string | null;
  a_digest: string | null;
  a_tx_id: string | null;
}

/**
 * What the verification of a batch of trades reads, loaded for the whole batch at once (a handful of set-based
 * statements instead of a dozen per trade): participants, units and certificate lots from the ledger's
 * projections, the meter registry, monthly totals with their attestations, and what earlier trades already
 * count against each party and month.
 *
 * A snapshot is only valid for trades that share no hot key (buyer-month, seller-month, lot) with a trade in
 * flight: the pipeline claims batches that way, so nothing a trade of the batch depends on changes under it.
 */
export interface VerificationSnapshot {
  participants: Map<string, { kind: string; status: string }>;
  units: Map<string, LedgerUnit>;
  meters: Map<string, MeterRow>;
  /** `meterId|YYYY-MM` → period with its attestation. */
  periods: Map<string, PeriodRow>;
  /** `seller|party|YYYY-MM` or `buyer|party|YYYY-MM` → kWh counted by trades COMMITTING or COMMITTED. */
  counted: Map<string, bigint>;
  lots: Map<string, LedgerLot>;
}

const periodKey = (meterId: string, month: string) => `${meterId}|${month}`;
const countedKey = (side: 'seller' | 'buyer', party: string, month: string) => `${side}|${party}|${month}`;

/**
 * 存证校验: the checks a trade must pass before it may reach the ledger, each recorded with its inputs and
 * result. Reads a `VerificationSnapshot` (participants, units and lots as projected from the ledger; meters,
 * monthly totals and attestations; the trades already counted) and, for interval profiles, the readings. The
 * chaincode checks units, lots and volumes again when the trade is attested, and Fabric's MVCC check refuses an
 * attestation whose reads changed meanwhile: a projection that lags cannot let a bad trade through.
 *
 * Transient failures (database unavailable) throw: the trades stay VERIFYING and are verified again.
 */
export class TradeVerifier {
  constructor(
    private readonly dataSource: DataSource,
    private readonly checkKeys: CheckKeysService,
  ) {}

  /** Load what `verify` reads for every trade of `rows`. */
  async snapshot(rows: TradeRow[]): Promise<VerificationSnapshot> {
    const trades = rows.map((r) => r.trade);
    const months = [
      ...new Set(
        trades.flatMap((t) => wholeMonths(Date.parse(t.deliveryStart), Date.parse(t.deliveryEnd)) ?? []),
      ),
    ];
    const partyIds = [...new Set(rows.flatMap((r) => [r.trading_center, r.trade.seller, r.trade.buyer]))];
    const unitIds = [...new Set(trades.flatMap((t) => t.sellerUnitIds))];
    const lotIds = [...new Set(trades.flatMap((t) => (t.lots ?? []).map((l) => l.lotId)))];
    const sellers = [...new Set(trades.map((t) => t.seller))];
    const buyers = [...new Set(trades.map((t) => t.buyer))];
    const tradeIds = trades.map((t) => t.tradeId);
    const buyerMeterIds = [...new Set(trades.flatMap((t) => t.buyerMeterIds))];
    // One statement, one round trip: each part a JSON array. Wh totals travel as text (exact), the rest as is.
    const [loaded] = (await this.dataSource.query(
      `WITH u AS (SELECT doc FROM units WHERE id = ANY($2)),
       m AS (SELECT unnest($3::text[]) AS id UNION SELECT jsonb_array_elements_text(doc->'meterIds') FROM u)
       SELECT
         (SELECT coalesce(json_agg(json_build_object('id', id, 'kind', kind, 'status', status)), '[]')
            FROM participants WHERE id = ANY($1)) AS participants,
         (SELECT coalesce(json_agg(doc), '[]') FROM u) AS units,
         (SELECT coalesce(json_agg(doc), '[]') FROM certificate_lots WHERE id = ANY($4)) AS lots,
         (SELECT coalesce(json_agg(x), '[]') FROM (
            SELECT id, kind, owner, unit_id, interval_minutes FROM meters WHERE id IN (SELECT id FROM m)) x) AS meters,
         (SELECT coalesce(json_agg(x), '[]') FROM (
            SELECT p.meter_id, p.period, p.total_wh::text AS total_wh, p.reading_count, p.status,
                   p.attested_version, a.version AS a_version, a.total_wh::text AS a_total_wh,
                   a.digest AS a_digest, a.tx_id AS a_tx_id
            FROM meter_periods p
            LEFT JOIN meter_attestations a
              ON a.meter_id = p.meter_id AND a.period = p.period AND a.version = p.attested_version
            WHERE p.meter_id IN (SELECT id FROM m) AND p.period = ANY($5)) x) AS periods,
         (SELECT coalesce(json_agg(x), '[]') FROM (
            SELECT 'seller' AS side, t.seller AS party, m.key AS month, sum(m.value::bigint)::text AS kwh
            FROM trades t CROSS JOIN LATERAL jsonb_each_text(t.allocation) m
            WHERE t.seller = ANY($6) AND t.state = ANY($8) AND NOT (t.trade_id = ANY($9))
              AND t.allocation IS NOT NULL AND m.key = ANY($5)
            GROUP BY t.seller, m.key
            UNION ALL
            SELECT 'buyer', t.buyer, m.key, sum(m.value::bigint)::text
            FROM trades t CROSS JOIN LATERAL jsonb_each_text(t.allocation) m
            WHERE t.buyer = ANY($7) AND t.state = ANY($8) AND NOT (t.trade_id = ANY($9))
              AND t.allocation IS NOT NULL AND m.key = ANY($5)
            GROUP BY t.buyer, m.key) x) AS counted`,
      [partyIds, unitIds, buyerMeterIds, lotIds, months, sellers, buyers, COUNTED_STATES, tradeIds],
    )) as Array<{
      participants: Array<{ id: string; kind: string; status: string }>;
      units: LedgerUnit[];
      lots: LedgerLot[];
      meters: MeterRow[];
      periods: PeriodRow[];
      counted: Array<{ side: 'seller' | 'buyer'; party: string; month: string; kwh: string }>;
    }>;
    return {
      participants: new Map(loaded.participants.map((p) => [p.id, { kind: p.kind, status: p.status }])),
      units: new Map(loaded.units.map((u) => [u.id, u])),
      meters: new Map(loaded.meters.map((m) => [m.id, m])),
      periods: new Map(loaded.periods.map((p) => [periodKey(p.meter_id, p.period.trim()), p])),
      counted: new Map(loaded.counted.map((c) => [countedKey(c.side, c.party, c.month), BigInt(c.kwh)])),
      lots: new Map(loaded.lots.map((l) => [l.id, l])),
    };
  }

  async verify(row: TradeRow, snapshot: VerificationSnapshot): Promise<Verification> {
    const trade = row.trade;
    const checks: TradeCheck[] = [];
    const record = (name: string, passed: boolean, reason: string, inputs: unknown) =>
      checks.push({ name, passed, reason, inputs, checkedAt: new Date().toISOString() });
    const startMs = Date.parse(trade.deliveryStart);
    const endMs = Date.parse(trade.deliveryEnd);
    const months = wholeMonths(startMs, endMs) ?? [];
    const volumeWh = BigInt(trade.volumeKwh) * 1000n;

    // 1. Parties registered, ACTIVE and of the right kind.
    {
      const wanted: Array<[string, string, string]> = [
        ['tradingCenter', row.trading_center, 'TRADING_CENTER'],
        ['seller', trade.seller, 'GENERATOR'],
        ['buyer', trade.buyer, 'CONSUMER'],
      ];
      const problems: string[] = [];
      const inputs: Record<string, unknown> = {};
      for (const [role, id, kind] of wanted) {
        const p = snapshot.participants.get(id);
        inputs[role] = p ? { id, kind: p.kind, status: p.status } : { id, registered: false };
        if (!p) problems.push(`${role} ${id} is not registered`);
        else if (p.kind !== kind) problems.push(`${role} ${id} is a ${p.kind}, not a ${kind}`);
        else if (p.status !== 'ACTIVE') problems.push(`${role} ${id} is ${p.status}, not ACTIVE`);
      }
      record(
        'parties',
        problems.length === 0,
        problems.join('; ') || 'all parties ACTIVE and of the right kind',
        inputs,
      );
    }

    // 2. The check data: the trading center's signature over the canonical trade data.
    {
      const bytes = Buffer.from(canonical(trade), 'utf8');
      const verdict = await this.checkKeys.verify(row.trading_center, row.check_data, bytes);
      record('signature', verdict.passed, verdict.reason, {
        tradingCenter: row.trading_center,
        keyId: row.check_data.keyId,
        alg: row.check_data.alg,
        canonicalSha256: sha256Hex(bytes),
      });
    }

    // 3. The seller's units (ledger) and their generation meters.
    const generationMeters: string[] = [];
    {
      const problems: string[] = [];
      const inputs: unknown[] = [];
      for (const unitId of trade.sellerUnitIds) {
        const unit = snapshot.units.get(unitId);
        if (!unit) {
          inputs.push({ unitId, error: 'UNIT_NOT_FOUND' });
          problems.push(`unit ${unitId}: UNIT_NOT_FOUND`);
          continue;
        }
        inputs.push({ unitId, owner: unit.owner, status: unit.status, meterIds: unit.meterIds });
        if (unit.owner !== trade.seller)
          problems.push(`unit ${unitId} belongs to ${unit.owner}, not to ${trade.seller}`);
        else if (unit.status !== 'ACTIVE') problems.push(`unit ${unitId} is ${unit.status}, not ACTIVE`);
        generationMeters.push(...unit.meterIds);
      }
      record(
        'seller-units',
        problems.length === 0,
        problems.join('; ') || 'units ACTIVE and owned by the seller',
        inputs,
      );
    }

    // 4. The buyer's meters: consumption meters of the buyer in the meter registry.
    const meterById = snapshot.meters;
    {
      const problems: string[] = [];
      for (const meterId of trade.buyerMeterIds) {
        const meter = meterById.get(meterId);
        if (!meter) problems.push(`meter ${meterId} is not registered`);
        else if (meter.kind !== 'CONSUMPTION') problems.push(`meter ${meterId} is a ${meter.kind} meter`);
        else if (meter.owner !== trade.buyer)
          problems.push(`meter ${meterId} belongs to ${meter.owner}, not to ${trade.buyer}`);
      }
      record(
        'buyer-meters',
        problems.length === 0,
        problems.join('; ') || 'consumption meters of the buyer',
        trade.buyerMeterIds.map((id) => {
          const m = meterById.get(id);
          return m ? { meterId: id, kind: m.kind, owner: m.owner } : { meterId: id, registered: false };
        }),
      );
    }

    // 5 and 6. Meter data complete and attested for every meter and month of the delivery period.
    const allMeters = [...new Set([...generationMeters, ...trade.buyerMeterIds])].sort();
    const periodOf = (meterId: string, month: string) => snapshot.periods.get(periodKey(meterId, month));
    const evidence: MeterEvidence[] = [];
    {
      const incomplete: string[] = [];
      const unattested: string[] = [];
      const completeness: unknown[] = [];
      for (const meterId of allMeters) {
        const meter = meterById.get(meterId);
        for (const month of months) {
          const expected = meter
            ? Math.round(
                (monthStartMs(addMonths(month, 1)) - monthStartMs(month)) / 60000 / meter.interval_minutes,
              )
            : null;
          const p = periodOf(meterId, month);
          const readings = p ? p.reading_count : 0;
          completeness.push({ meterId, period: month, readings, expected });
          if (!meter) incomplete.push(`${meterId} ${month}: meter not registered`);
          else if (readings !== expected)
            incomplete.push(`${meterId} ${month}: ${readings} of ${expected} intervals`);
          if (!p || p.status !== 'CLOSED' || p.attested_version < 1 || p.a_digest === null) {
            unattested.push(`${meterId} ${month}: not attested`);
          } else if (p.a_total_wh !== p.total_wh) {
            unattested.push(
              `${meterId} ${month}: readings total ${p.total_wh} Wh differs from the attested ${p.a_total_wh} Wh`,
            );
          } else {
            evidence.push({
              meterId,
              period: month,
              version: p.a_version!,
              totalWh: p.a_total_wh,
              digest: p.a_digest.trim(),
              txId: p.a_tx_id!,
            });
          }
        }
      }
      record(
        'meter-data-complete',
        allMeters.length > 0 && incomplete.length === 0,
        incomplete.slice(0, 50).join('; ') || (allMeters.length ? 'every interval present' : 'no meters'),
        completeness,
      );
      record(
        'meter-data-attested',
        allMeters.length > 0 && unattested.length === 0,
        unattested.slice(0, 50).join('; ') || 'every meter-month attested on the ledger',
        evidence,
      );
    }

    // Certificates (read now: a green-power trade's months follow its lots' production months).
    const lotsResult = this.checkLots(trade, snapshot.lots, months);

    // Allocation of the volume to months (kWh).
    const allocation = this.allocate(trade, months, lotsResult.byMonth, (m) =>
      trade.buyerMeterIds.reduce((s, id) => s + BigInt(periodOf(id, m)?.total_wh ?? '0'), 0n),
    );

    // 7 and 8. Generation and consumption cover the volume with every earlier trade against them.
    const cover = (party: 'seller' | 'buyer', meterIds: string[], name: string) => {
      const partyId = party === 'seller' ? trade.seller : trade.buyer;
      const problems: string[] = [];
      const inputs = months.map((month) => {
        const capacityWh = meterIds.reduce((s, id) => s + BigInt(periodOf(id, month)?.total_wh ?? '0'), 0n);
        const earlierKwh = snapshot.counted.get(countedKey(party, partyId, month)) ?? 0n;
        const thisKwh = BigInt(allocation[month] ?? 0);
        if ((earlierKwh + thisKwh) * 1000n > capacityWh) {
          problems.push(
            `${month}: ${earlierKwh} kWh already counted + ${thisKwh} kWh of this trade exceed ${capacityWh} Wh`,
          );
        }
        return {
          month,
          capacityWh: capacityWh.toString(),
          earlierKwh: Number(earlierKwh),
          thisKwh: Number(thisKwh),
        };
      });
      record(name, problems.length === 0, problems.join('; ') || 'covered', {
        [party]: partyId,
        meterIds,
        months: inputs,
      });
    };
    if (trade.kind === 'GREEN_POWER') {
      cover('seller', generationMeters, 'generation-covers-volume');
    } else {
      record(
        'generation-covers-volume',
        true,
        'not applicable: a CERTIFICATE_ONLY trade delivers no electricity',
        {
          kind: trade.kind,
        },
      );
    }
    cover('buyer', trade.buyerMeterIds, 'consumption-covers-volume');

    // 9. Interval profile.
    if (trade.profile && trade.profile.length > 0) {
      await this.checkProfile(trade, generationMeters, meterById, volumeWh, record);
    }

    // 10. Certificates.
    record(
      'certificates',
      lotsResult.problems.length === 0,
      lotsResult.problems.join('; ') || 'certificates cover the volume',
      lotsResult.inputs,
    );

    evidence.sort((a, b) => (a.meterId + a.period < b.meterId + b.period ? -1 : 1));
    return {
      checks,
      passed: checks.every((c) => c.passed),
      allocation,
      evidence,
      evidenceDigest: sha256Hex(canonical(evidence)),
      lots: lotsResult.lots,
    };
  }

  private allocate(
    trade: TradeData,
    months: string[],
    lotsByMonth: Map<string, number>,
    consumptionWh: (month: string) => bigint,
  ): Record<string, number> {
    const allocation: Record<string, number> = {};
    if (months.length === 1) {
      allocation[months[0]] = trade.volumeKwh;
      return allocation;
    }
    let weights: bigint[];
    if (trade.profile && trade.profile.length > 0) {
      weights = months.map((m) =>
        trade
          .profile!.filter((p) => shanghaiMonth(Date.parse(p.intervalStart)) === m)
          .reduce((s, p) => s + kwhToWh(p.kwh), 0n),
      );
    } else if (trade.kind === 'GREEN_POWER' && lotsByMonth.size > 0) {
      weights = months.map((m) => BigInt(lotsByMonth.get(m) ?? 0));
    } else {
      weights = months.map(consumptionWh);
    }
    const total = weights.reduce((s, w) => s + w, 0n);
    let given = 0;
    months.forEach((m, i) => {
      const share =
        i === months.length - 1
          ? trade.volumeKwh - given
          : total === 0n
            ? 0
            : Number((BigInt(trade.volumeKwh) * weights[i]) / total);
      allocation[m] = share;
      given += share;
    });
    return allocation;
  }

  private checkLots(
    trade: TradeData,
    known: Map<string, LedgerLot>,
    months: string[],
  ): {
    problems: string[];
    inputs: unknown[];
    lots: Array<{ lotId: string; volume: number }>;
    byMonth: Map<string, number>;
  } {
    const problems: string[] = [];
    const inputs: unknown[] = [];
    const lots: Array<{ lotId: string; volume: number }> = [];
    const byMonth = new Map<string, number>();
    const requested = trade.lots ?? [];
    if (requested.length === 0) {
      problems.push(
        `no certificate lots: ${trade.volumeKwh} kWh needs ${Math.ceil(trade.volumeKwh / KWH_PER_CERTIFICATE)} certificates (1 per 1,000 kWh)`,
      );
    }
    const now = Date.now();
    let certificates = 0;
    for (const item of requested) {
      const lot = known.get(item.lotId);
      if (!lot) {
        inputs.push({ lotId: item.lotId, error: 'LOT_NOT_FOUND' });
        problems.push(`lot ${item.lotId}: LOT_NOT_FOUND`);
        continue;
      }
      const volume = item.volume ?? lot.volume;
      inputs.push({
        lotId: lot.id,
        owner: lot.owner,
        status: lot.status,
        volume: lot.volume,
        requested: volume,
        unitId: lot.unitId,
        productionMonth: lot.productionMonth,
        expiresAt: lot.expiresAt,
        tradable: lot.tradable,
        boundToGreenPowerTrade: lot.boundToGreenPowerTrade,
      });
      const before = problems.length;
      if (lot.owner !== trade.seller)
        problems.push(`lot ${lot.id} is owned by ${lot.owner}, not by the seller`);
      if (lot.status !== 'ACTIVE') problems.push(`lot ${lot.id} is ${lot.status}, not ACTIVE`);
      if (!lot.tradable) problems.push(`lot ${lot.id} is not tradable`);
      if (Date.parse(lot.expiresAt) <= now) problems.push(`lot ${lot.id} expired at ${lot.expiresAt}`);
      if (lot.boundToGreenPowerTrade) problems.push(`lot ${lot.id} is bound to an earlier green-power trade`);
      if (volume > lot.volume)
        problems.push(`lot ${lot.id} holds ${lot.volume} certificates, ${volume} requested`);
      if (trade.kind === 'GREEN_POWER') {
        if (!trade.sellerUnitIds.includes(lot.unitId))
          problems.push(`lot ${lot.id} is from unit ${lot.unitId}, not a seller unit`);
        if (!months.includes(lot.productionMonth)) {
          problems.push(`lot ${lot.id} was produced in ${lot.productionMonth}, outside the delivery period`);
        }
      }
      if (problems.length === before) {
        lots.push({ lotId: lot.id, volume });
        byMonth.set(
          lot.productionMonth,
          (byMonth.get(lot.productionMonth) ?? 0) + volume * KWH_PER_CERTIFICATE,
        );
      }
      certificates += volume;
    }
    if (requested.length > 0 && certificates * KWH_PER_CERTIFICATE !== trade.volumeKwh) {
      problems.push(
        `${trade.volumeKwh} kWh needs exactly ${trade.volumeKwh / KWH_PER_CERTIFICATE} certificates (1 per 1,000 kWh, whole MWh); the lots give ${certificates}`,
      );
    }
    return { problems, inputs, lots, byMonth };
  }

  private async checkProfile(
    trade: TradeData,
    generationMeters: string[],
    meterById: Map<string, MeterRow>,
    volumeWh: bigint,
    record: (name: string, passed: boolean, reason: string, inputs: unknown) => void,
  ): Promise<void> {
    const profile = trade.profile!;
    const involved = [...generationMeters, ...trade.buyerMeterIds].map(
      (id) => meterById.get(id)?.interval_minutes ?? 15,
    );
    const minutes = Math.max(15, ...involved);
    const stepMs = minutes * 60000;
    const originMs = Date.parse(GRID_ORIGIN);
    const problems: string[] = [];
    const claims = new Map<number, bigint>();
    let sum = 0n;
    for (const interval of profile) {
      const at = Date.parse(interval.intervalStart);
      if ((at - originMs) % stepMs !== 0) {
        problems.push(`interval ${interval.intervalStart} is not on the ${minutes}-minute grid`);
        continue;
      }
      if (claims.has(at)) problems.push(`interval ${interval.intervalStart} is given twice`);
      const wh = kwhToWh(interval.kwh);
      claims.set(at, (claims.get(at) ?? 0n) + wh);
      sum += wh;
    }
    if (sum !== volumeWh) problems.push(`the profile sums to ${sum} Wh, the volume is ${volumeWh} Wh`);
    const bucket = async (meterIds: string[]) => {
      const rows = (await this.dataSource.query(
        `SELECT extract(epoch FROM date_bin(make_interval(mins => $1), interval_start, $2::timestamptz)) * 1000 AS at,
                sum(wh)::text AS wh
         FROM meter_readings WHERE meter_id = ANY($3) AND interval_start >= $4 AND interval_start < $5
         GROUP BY 1`,
        [minutes, GRID_ORIGIN, meterIds, new Date(trade.deliveryStart), new Date(trade.deliveryEnd)],
      )) as Array<{ at: string; wh: string }>;
      return new Map(rows.map((r) => [Number(r.at), BigInt(r.wh)]));
    };
    const earlierClaims = async (party: 'seller' | 'buyer') => {
      const rows = (await this.dataSource.query(
        `SELECT p->>'intervalStart' AS start, p->>'kwh' AS kwh
         FROM trades t CROSS JOIN LATERAL jsonb_array_elements(t.trade->'profile') p
         WHERE t.${party} = $1 AND t.state = ANY($2) AND t.trade_id <> $3 AND jsonb_typeof(t.trade->'profile') = 'array'
           AND t.delivery_start < $5 AND t.delivery_end > $4`,
        [
          party === 'seller' ? trade.seller : trade.buyer,
          COUNTED_STATES,
          trade.tradeId,
          new Date(trade.deliveryStart),
          new Date(trade.deliveryEnd),
        ],
      )) as Array<{ start: string; kwh: string }>;
      const claimed = new Map<number, bigint>();
      for (const r of rows) {
        const at = Date.parse(r.start);
        const slot = at - ((((at - originMs) % stepMs) + stepMs) % stepMs);
        claimed.set(slot, (claimed.get(slot) ?? 0n) + kwhToWh(r.kwh));
      }
      return claimed;
    };
    const generation = trade.kind === 'GREEN_POWER' ? await bucket(generationMeters) : undefined;
    const consumption = await bucket(trade.buyerMeterIds);
    const earlierGen = trade.kind === 'GREEN_POWER' ? await earlierClaims('seller') : undefined;
    const earlierCons = await earlierClaims('buyer');
    const over: unknown[] = [];
    for (const [at, wh] of [...claims.entries()].sort((a, b) => a[0] - b[0])) {
      const consumed = consumption.get(at) ?? 0n;
      const consClaim = wh + (earlierCons.get(at) ?? 0n);
      const generated = generation?.get(at);
      const genClaim = wh + (earlierGen?.get(at) ?? 0n);
      if (consClaim > consumed || (generation && genClaim > (generated ?? 0n))) {
        over.push({
          intervalStart: new Date(at).toISOString(),
          claimedWh: wh.toString(),
          generatedWh: generation ? (generated ?? 0n).toString() : null,
          consumedWh: consumed.toString(),
          earlierGenerationClaimWh: (earlierGen?.get(at) ?? 0n).toString(),
          earlierConsumptionClaimWh: (earlierCons.get(at) ?? 0n).toString(),
        });
      }
    }
    if (over.length > 0)
      problems.push(`${over.length} interval(s) claim more than was generated or consumed in them`);
    record(
      'profile-matching',
      problems.length === 0,
      problems.slice(0, 20).join('; ') || 'every interval covered',
      {
        intervalMinutes: minutes,
        intervals: profile.length,
        profileWh: sum.toString(),
        volumeWh: volumeWh.toString(),
        overclaimed: over.slice(0, 50),
      },
    );
  }
}
