/**
 * Property tests of the certificate lifecycle against a model, through the real contracts on the embedded
 * ledger: random sequences of issue / split / transfer / list / delist / sell / redeem / exchange / expire /
 * withdraw. After every operation the ledger agreed with the model on success or on the named refusal; after
 * every run:
 * - the lots of each issuance cover its serial range exactly once (volumes conserved, no serial in two lots);
 * - every lot (range, owner, status, listing, redemption) equals the model's, and the owner/status/unit indexes
 *   list exactly the model's lots;
 * - a redeemed or exchanged serial cannot move again;
 * - CheckRedemption answers correctly at every lot's edges (first, last, first-1, last+1).
 */
import fc from 'fast-check';
import { GecClient, type LotJson, type PageJson, expectRefused, refusal } from './support/gec-client';

jest.setTimeout(60_000);

let gec: GecClient;

beforeAll(async () => {
  gec = await GecClient.start({ batch: { batchTimeoutMs: 1 } });
});

afterAll(async () => {
  await gec?.close();
});

type Status = 'ACTIVE' | 'LISTED' | 'REDEEMED' | 'EXCHANGED' | 'EXPIRED' | 'WITHDRAWN';
const FINAL: Status[] = ['REDEEMED', 'EXCHANGED', 'EXPIRED', 'WITHDRAWN'];
const FINAL_ERROR: Record<string, string> = {
  REDEEMED: 'LOT_REDEEMED',
  EXCHANGED: 'LOT_EXCHANGED',
  EXPIRED: 'LOT_EXPIRED',
  WITHDRAWN: 'LOT_WITHDRAWN',
};

interface ModelLot {
  id: string;
  unitId: string;
  projectCode: string;
  month: string;
  classes: string;
  start: number;
  end: number;
  owner: string;
  status: Status;
  tradable: boolean;
  pastDate: boolean;
  parentLotId: string;
  listingId: string;
  redemptionId: string;
  exchangeId: string;
}

interface ModelListing {
  id: string;
  lotId: string;
  seller: string;
  status: 'OPEN' | 'CANCELLED' | 'SOLD' | 'CLOSED';
  volume: number;
}

interface ModelRedemption {
  beneficiary: string;
  purpose: string;
}

interface Issued {
  unitId: string;
  projectCode: string;
  month: string;
  classes: string;
  certificates: number;
}

class Model {
  lots = new Map<string, ModelLot>();
  listings = new Map<string, ModelListing>();
  redemptions = new Map<string, ModelRedemption>();
  issued: Issued[] = [];

  serial(lot: { projectCode: string; month: string; classes: string }, seq: number): string {
    return `${lot.projectCode}${lot.month.replace('-', '')}${String(seq).padStart(7, '0')}${lot.classes}`;
  }

  sortedLots(): ModelLot[] {
    return [...this.lots.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** The lot taking `volume` (whole or split off the top), with `changes`. */
  take(lot: ModelLot, volume: number | undefined, changes: Partial<ModelLot>): ModelLot {
    const size = lot.end - lot.start + 1;
    if (volume === undefined || volume === size) {
      Object.assign(lot, changes);
      return lot;
    }
    const childStart = lot.end - volume + 1;
    const child: ModelLot = {
      ...lot,
      listingId: '',
      ...changes,
      id: this.serial(lot, childStart),
      start: childStart,
      parentLotId: lot.id,
    };
    lot.end = childStart - 1;
    this.lots.set(child.id, child);
    return child;
  }
}

/** The first refusal that applies to acting on `lot`, in the chaincode's order (live, status, owner). */
function lotRefusal(lot: ModelLot, allowed: Status[], owner?: string): string | undefined {
  if (FINAL.includes(lot.status)) return FINAL_ERROR[lot.status];
  if (lot.pastDate) return 'LOT_EXPIRED';
  if (!allowed.includes(lot.status)) return lot.status === 'LISTED' ? 'LOT_LISTED' : 'LOT_NOT_LISTED';
  if (owner !== undefined && lot.owner !== owner) return 'LOT_NOT_OWNED';
  return undefined;
}

function volumeRefusal(lot: ModelLot, volume: number | undefined): string | undefined {
  return volume !== undefined && volume > lot.end - lot.start + 1 ? 'VOLUME_EXCEEDS_LOT' : undefined;
}

const OP_KINDS = [
  'issue',
  'split',
  'transfer',
  'list',
  'delist',
  'sell',
  'redeem',
  'exchange',
  'expire',
  'withdraw',
] as const;

interface Op {
  kind: (typeof OP_KINDS)[number];
  a: number;
  b: number;
  c: number;
  v: number;
  whole: boolean;
  wrongOwner: boolean;
}

const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.oneof(
    { weight: 1, arbitrary: fc.constant('issue' as const) },
    { weight: 3, arbitrary: fc.constant('split' as const) },
    { weight: 3, arbitrary: fc.constant('transfer' as const) },
    { weight: 4, arbitrary: fc.constant('list' as const) },
    { weight: 1, arbitrary: fc.constant('delist' as const) },
    { weight: 3, arbitrary: fc.constant('sell' as const) },
    { weight: 2, arbitrary: fc.constant('redeem' as const) },
    { weight: 1, arbitrary: fc.constant('exchange' as const) },
    { weight: 1, arbitrary: fc.constant('expire' as const) },
    { weight: 1, arbitrary: fc.constant('withdraw' as const) },
  ),
  a: fc.nat(1000),
  b: fc.nat(1000),
  c: fc.nat(1000),
  v: fc.nat(1000),
  whole: fc.boolean(),
  wrongOwner: fc.nat(9).map((x) => x < 2),
});

interface Setup {
  current: number;
  expired: number;
  nonTradable: number;
}

const setupArb: fc.Arbitrary<Setup> = fc.record({
  current: fc.integer({ min: 1, max: 40 }),
  expired: fc.integer({ min: 0, max: 6 }),
  nonTradable: fc.integer({ min: 0, max: 5 }),
});

let run = 0;
/** Outcomes per operation kind over all runs: each kind must have both succeeded and been refused. */
const outcomes = new Map<string, { ok: number; refused: Set<string> }>();

function tally(kind: string, refusedWith?: string): void {
  const entry = outcomes.get(kind) ?? { ok: 0, refused: new Set<string>() };
  if (refusedWith === undefined) entry.ok += 1;
  else entry.refused.add(refusedWith);
  outcomes.set(kind, entry);
}

async function runScenario(setup: Setup, ops: Op[]): Promise<void> {
  run += 1;
  const model = new Model();
  const gen = await gec.participant('GENERATOR', `pg${run}`);
  const con1 = await gec.participant('CONSUMER', `pc${run}a`);
  const con2 = await gec.participant('CONSUMER', `pc${run}b`);
  const parties = [gen, con1, con2];
  const units: Array<{ id: string; projectCode: string; meterIds: string[]; nextMonth: number }> = [];

  async function issue(months: string, certificates: number, tradable: boolean, pastDate: boolean) {
    const unit = await gec.unit(gen);
    units.push({ ...unit, nextMonth: 1 });
    await gec.attest(unit.meterIds[0], months, certificates * 1_000_000 + 1234);
    const issuance = await gec.issue(unit.id, months, tradable);
    addIssued(unit, months, certificates, tradable, pastDate, issuance.lotId);
  }

  function addIssued(
    unit: { id: string; projectCode: string },
    month: string,
    certificates: number,
    tradable: boolean,
    pastDate: boolean,
    lotId: string,
  ) {
    const classes = `W${tradable ? 'T' : 'N'}`;
    model.issued.push({ unitId: unit.id, projectCode: unit.projectCode, month, classes, certificates });
    if (certificates === 0) return;
    const lot: ModelLot = {
      id: model.serial({ projectCode: unit.projectCode, month, classes }, 1),
      unitId: unit.id,
      projectCode: unit.projectCode,
      month,
      classes,
      start: 1,
      end: certificates,
      owner: gen,
      status: 'ACTIVE',
      tradable,
      pastDate,
      parentLotId: '',
      listingId: '',
      redemptionId: '',
      exchangeId: '',
    };
    expect(lotId).toBe(lot.id);
    model.lots.set(lot.id, lot);
  }

  await issue('2026-02', setup.current, true, false);
  if (setup.expired > 0) await issue('2020-01', setup.expired, true, true);
  if (setup.nonTradable > 0) await issue('2026-02', setup.nonTradable, false, false);

  let k = 0;
  for (const op of ops) {
    k += 1;
    // Mostly a lot that can still act (ACTIVE or LISTED, unexpired), sometimes any lot (to see refusals).
    const all = model.sortedLots();
    const live = all.filter((l) => (l.status === 'ACTIVE' || l.status === 'LISTED') && !l.pastDate);
    const lots = live.length > 0 && op.c % 4 !== 0 ? live : all;
    const lot = lots[op.a % lots.length];
    const size = lot ? lot.end - lot.start + 1 : 0;
    const volume = op.whole ? undefined : 1 + (op.v % (size + 1));
    const other = (owner: string) => parties[(parties.indexOf(owner) + 1 + (op.c % 2)) % 3];
    const stated = lot && op.wrongOwner ? other(lot.owner) : lot?.owner;
    let expected: string | undefined;
    let call: () => Promise<unknown>;
    let apply: () => void = () => undefined;

    switch (op.kind) {
      case 'issue': {
        const unit = units[0];
        const month = `2026-0${2 + unit.nextMonth}`;
        if (unit.nextMonth > 6) continue;
        unit.nextMonth += 1;
        const certificates = op.v % 20;
        await gec.attest(unit.meterIds[0], month, certificates * 1_000_000);
        call = () => gec.issue(unit.id, month);
        apply = () => {
          // 1234 Wh carried from the first month never reach a whole certificate.
          addIssued(
            unit,
            month,
            certificates,
            true,
            false,
            certificates === 0
              ? ''
              : model.serial({ projectCode: unit.projectCode, month, classes: 'WT' }, 1),
          );
        };
        break;
      }
      case 'split': {
        expected = lotRefusal(lot, ['ACTIVE'], stated) ?? volumeRefusal(lot, volume);
        if (!expected && (volume === undefined || volume >= size)) expected = 'INVALID_ARGUMENT';
        call = () =>
          gec.submit(gec.ids.tradingClient, 'certificates:Split', { lotId: lot.id, owner: stated, volume });
        apply = () => model.take(lot, volume, {});
        break;
      }
      case 'transfer': {
        const to = parties[op.b % 3];
        expected =
          stated === to
            ? 'SAME_PARTY'
            : (lotRefusal(lot, ['ACTIVE'], stated) ??
              (lot.tradable ? undefined : 'LOT_NOT_TRADABLE') ??
              volumeRefusal(lot, volume));
        call = () =>
          gec.submit(gec.ids.tradingClient, 'certificates:Transfer', {
            lotId: lot.id,
            from: stated,
            to,
            volume,
          });
        apply = () => model.take(lot, volume, { owner: to });
        break;
      }
      case 'list': {
        const listingId = `L${run}-${k}`;
        expected =
          lotRefusal(lot, ['ACTIVE'], stated) ??
          (lot.tradable ? undefined : 'LOT_NOT_TRADABLE') ??
          volumeRefusal(lot, volume);
        call = () =>
          gec.submit(gec.ids.tradingAdmin, 'certificates:List', {
            listingId,
            lotId: lot.id,
            owner: stated,
            volume,
            unitPriceFen: 5000,
          });
        apply = () => {
          const listed = model.take(lot, volume, { status: 'LISTED', listingId });
          model.listings.set(listingId, {
            id: listingId,
            lotId: listed.id,
            seller: lot.owner,
            status: 'OPEN',
            volume: listed.end - listed.start + 1,
          });
        };
        break;
      }
      case 'delist':
      case 'sell': {
        // Mostly an open listing, sometimes any (to see closed ones refused).
        const all = [...model.listings.values()];
        const open = all.filter((l) => l.status === 'OPEN');
        const listings = open.length > 0 && op.c % 4 !== 0 ? open : all;
        if (listings.length === 0) continue;
        const listing = listings[op.b % listings.length];
        const listed = model.lots.get(listing.lotId)!;
        const listedSize = listed.end - listed.start + 1;
        if (op.kind === 'delist') {
          const owner = op.wrongOwner ? other(listing.seller) : listing.seller;
          expected = listing.status !== 'OPEN' ? 'LISTING_NOT_OPEN' : lotRefusal(listed, ['LISTED'], owner);
          call = () =>
            gec.submit(gec.ids.tradingClient, 'certificates:Delist', { listingId: listing.id, owner });
          apply = () => {
            model.take(listed, undefined, { status: 'ACTIVE', listingId: '' });
            Object.assign(listing, { status: 'CANCELLED', volume: 0 });
          };
        } else {
          const buyer = parties[op.c % 3];
          const sellVolume = op.whole ? undefined : 1 + (op.v % (listedSize + 1));
          expected =
            listing.status !== 'OPEN'
              ? 'LISTING_NOT_OPEN'
              : buyer === listing.seller
                ? 'SAME_PARTY'
                : (lotRefusal(listed, ['LISTED']) ?? volumeRefusal(listed, sellVolume));
          call = () =>
            gec.submit(gec.ids.tradingClient, 'certificates:SellFromListing', {
              listingId: listing.id,
              buyer,
              volume: sellVolume,
            });
          apply = () => {
            const whole = sellVolume === undefined || sellVolume === listedSize;
            model.take(listed, sellVolume, { owner: buyer, status: 'ACTIVE', listingId: '' });
            if (whole) Object.assign(listing, { status: 'SOLD', volume: 0 });
            else listing.volume -= sellVolume;
          };
        }
        break;
      }
      case 'redeem':
      case 'exchange': {
        const second = lots[op.b % lots.length];
        const items =
          second === lot
            ? [{ lot, volume }]
            : [
                { lot, volume },
                { lot: second, volume: undefined },
              ];
        const id = `${op.kind === 'redeem' ? 'R' : 'X'}${run}-${k}`;
        for (const item of items) {
          expected =
            lotRefusal(item.lot, ['ACTIVE'], stated) ??
            (op.kind === 'exchange' && !item.lot.tradable ? 'LOT_NOT_TRADABLE' : undefined) ??
            volumeRefusal(item.lot, item.volume);
          if (expected) break;
        }
        const request = {
          owner: stated,
          items: items.map((i) => ({ lotId: i.lot.id, volume: i.volume })),
        };
        call =
          op.kind === 'redeem'
            ? () =>
                gec.submit(gec.ids.tradingClient, 'redemption:Redeem', {
                  redemptionId: id,
                  beneficiary: `beneficiary ${id}`,
                  purpose: `RE100 ${id}`,
                  consumptionStartMonth: '2026-01',
                  consumptionEndMonth: '2026-06',
                  ...request,
                })
            : () =>
                gec.submit(gec.ids.tradingAdmin, 'redemption:Exchange', {
                  exchangeId: id,
                  electricityReference: `GE-${id}`,
                  ...request,
                });
        apply = () => {
          for (const item of items) {
            model.take(
              item.lot,
              item.volume,
              op.kind === 'redeem'
                ? { status: 'REDEEMED', redemptionId: id }
                : { status: 'EXCHANGED', exchangeId: id },
            );
          }
          if (op.kind === 'redeem') {
            model.redemptions.set(id, { beneficiary: `beneficiary ${id}`, purpose: `RE100 ${id}` });
          }
        };
        break;
      }
      case 'expire': {
        expected = FINAL.includes(lot.status)
          ? FINAL_ERROR[lot.status]
          : lot.pastDate
            ? undefined
            : 'LOT_NOT_EXPIRED';
        call = () => gec.submit(gec.ids.gridPlatform, 'certificates:Expire', { lotId: lot.id });
        apply = () => {
          if (lot.status === 'LISTED') {
            Object.assign(model.listings.get(lot.listingId)!, { status: 'CLOSED', volume: 0 });
          }
          model.take(lot, undefined, { status: 'EXPIRED', listingId: '' });
        };
        break;
      }
      case 'withdraw': {
        expected = lotRefusal(lot, ['ACTIVE', 'LISTED']) ?? volumeRefusal(lot, volume);
        call = () =>
          gec.submit(gec.ids.gridAdmin, 'certificates:Withdraw', {
            lotId: lot.id,
            volume,
            reason: 'dispute',
          });
        apply = () => {
          if (lot.status === 'LISTED') {
            const listing = model.listings.get(lot.listingId)!;
            if (volume === undefined || volume === size)
              Object.assign(listing, { status: 'CLOSED', volume: 0 });
            else listing.volume -= volume;
          }
          model.take(lot, volume, { status: 'WITHDRAWN', listingId: '' });
        };
        break;
      }
    }

    if (expected === undefined) {
      await call();
      apply();
    } else {
      await expectRefused(call(), expected);
    }
    tally(op.kind, expected);
  }

  await checkAgainstModel(
    model,
    units.map((u) => u.id),
    parties,
  );
}

async function allPages<T>(transaction: string, query: Record<string, unknown>): Promise<T[]> {
  const items: T[] = [];
  let bookmark = '';
  for (let i = 0; i < 100; i++) {
    const page = await gec.evaluate<PageJson<T>>(transaction, { ...query, pageSize: 7, bookmark });
    items.push(...page.items);
    if (page.bookmark === '') return items;
    bookmark = page.bookmark;
  }
  throw new Error('too many pages');
}

async function checkAgainstModel(model: Model, unitIds: string[], parties: string[]): Promise<void> {
  const ledgerLots: LotJson[] = [];
  for (const unitId of unitIds) ledgerLots.push(...(await allPages<LotJson>('queries:ListLots', { unitId })));
  const byId = new Map(ledgerLots.map((l) => [l.id, l]));
  expect(byId.size).toBe(ledgerLots.length);
  expect([...byId.keys()].sort()).toEqual([...model.lots.keys()].sort());

  for (const lot of model.lots.values()) {
    const actual = byId.get(lot.id)!;
    expect({
      start: actual.sequenceStart,
      end: actual.sequenceEnd,
      volume: actual.volume,
      owner: actual.owner,
      status: actual.status,
      parent: actual.parentLotId,
      listing: actual.listingId,
      redemption: actual.redemptionId,
      exchange: actual.exchangeId,
      serialStart: actual.serialStart,
      serialEnd: actual.serialEnd,
    }).toEqual({
      start: lot.start,
      end: lot.end,
      volume: lot.end - lot.start + 1,
      owner: lot.owner,
      status: lot.status,
      parent: lot.parentLotId,
      listing: lot.listingId,
      redemption: lot.redemptionId,
      exchange: lot.exchangeId,
      serialStart: model.serial(lot, lot.start),
      serialEnd: model.serial(lot, lot.end),
    });
  }

  // Each issuance's serial range is covered exactly once: volumes conserved, no serial in two lots.
  for (const issued of model.issued) {
    const ranges = ledgerLots
      .filter(
        (l) =>
          l.unitId === issued.unitId &&
          l.productionMonth === issued.month &&
          l.tradeClass === issued.classes[1],
      )
      .map((l) => [l.sequenceStart, l.sequenceEnd] as const)
      .sort((x, y) => x[0] - y[0]);
    let nextSeq = 1;
    for (const [start, end] of ranges) {
      expect(start).toBe(nextSeq);
      expect(end).toBeGreaterThanOrEqual(start);
      nextSeq = end + 1;
    }
    expect(nextSeq - 1).toBe(issued.certificates);
  }

  // The owner and status indexes list exactly the model's lots.
  for (const party of parties) {
    const owned = (await allPages<LotJson>('queries:ListLots', { owner: party })).map((l) => l.id).sort();
    expect(owned).toEqual(
      model
        .sortedLots()
        .filter((l) => l.owner === party)
        .map((l) => l.id),
    );
    const active = await allPages<LotJson>('queries:ListLots', { owner: party, status: 'ACTIVE' });
    expect(active.every((l) => l.status === 'ACTIVE')).toBe(true);
    expect(active.length).toBe(
      model.sortedLots().filter((l) => l.owner === party && l.status === 'ACTIVE').length,
    );
  }
  const listed = (await allPages<LotJson>('queries:ListLots', { status: 'LISTED' }))
    .map((l) => l.id)
    .filter((id) => model.lots.has(id));
  expect(listed.sort()).toEqual(
    model
      .sortedLots()
      .filter((l) => l.status === 'LISTED')
      .map((l) => l.id),
  );

  // Redemption check at every lot's edges, and the serials just outside each issuance.
  const answer = (serial: string) =>
    gec.evaluate<Record<string, unknown>>('redemption:CheckRedemption', serial);
  const owning = (issued: Issued, seq: number) =>
    [...model.lots.values()].find(
      (l) =>
        l.unitId === issued.unitId &&
        l.month === issued.month &&
        l.classes === issued.classes &&
        l.start <= seq &&
        seq <= l.end,
    );
  for (const issued of model.issued) {
    const edges = new Set<number>([0, issued.certificates + 1]);
    for (const lot of model.lots.values()) {
      if (lot.unitId !== issued.unitId || lot.month !== issued.month || lot.classes !== issued.classes)
        continue;
      for (const seq of [lot.start - 1, lot.start, lot.end, lot.end + 1]) edges.add(seq);
    }
    for (const seq of edges) {
      if (seq === 0) continue; // sequence 0000000 is not a serial number at all
      const serial = model.serial(issued, seq);
      const holder = owning(issued, seq);
      if (holder === undefined) {
        await expectRefused(answer(serial), 'SERIAL_NOT_FOUND', serial);
        continue;
      }
      const check = await answer(serial);
      const redemption = holder.redemptionId ? model.redemptions.get(holder.redemptionId)! : undefined;
      expect(check).toMatchObject({
        serial,
        lotId: holder.id,
        status: holder.status,
        owner: holder.owner,
        redeemed: holder.status === 'REDEEMED',
        exchanged: holder.status === 'EXCHANGED',
        redemptionId: holder.redemptionId,
        exchangeId: holder.exchangeId,
        beneficiary: redemption?.beneficiary ?? '',
        purpose: redemption?.purpose ?? (holder.exchangeId ? '' : ''),
      });
      if (holder.status === 'REDEEMED' || holder.status === 'EXCHANGED') {
        expect(check.consumedTxId).not.toBe('');
      }
    }
  }

  // No redeemed or exchanged serial can move again.
  for (const lot of model.sortedLots().filter((l) => l.status === 'REDEEMED' || l.status === 'EXCHANGED')) {
    const to = parties.find((p) => p !== lot.owner)!;
    const message = await refusal(
      gec.submit(gec.ids.tradingClient, 'certificates:Transfer', { lotId: lot.id, from: lot.owner, to }),
    );
    expect(message).toMatch(lot.status === 'REDEEMED' ? /^LOT_REDEEMED: / : /^LOT_EXCHANGED: /);
    break;
  }
}

const op = (kind: Op['kind'], fields: Partial<Op> = {}): Op => ({
  kind,
  a: 0,
  b: 0,
  c: 1,
  v: 0,
  whole: false,
  wrongOwner: false,
  ...fields,
});

/**
 * A hand-written sequence run before the random ones, so every operation succeeds and the main refusals occur
 * at least once whatever the random draws are.
 */
const EXAMPLE: [Setup, Op[]] = [
  { current: 20, expired: 3, nonTradable: 2 },
  [
    op('list', { v: 4 }), // 5 of the current lot listed
    op('sell', { v: 1 }), // 2 of them sold to a consumer
    op('delist'), // the other 3 return
    op('transfer', { b: 1, whole: true }), // the rest of the lot to a consumer
    op('split', { v: 2 }),
    op('redeem', { v: 0 }),
    op('exchange', { a: 1, b: 1, whole: true }),
    op('expire', { c: 0, a: 5 }), // the 2020 lot
    op('withdraw', { a: 3 }),
    op('issue', { v: 5 }),
    op('transfer', { c: 0, a: 1, b: 2, whole: true }), // a redeemed lot
    op('list', { c: 0, a: 2, whole: true }), // an exchanged lot
  ],
];

describe('certificate lifecycle against a model', () => {
  it('keeps every invariant over random operation sequences', async () => {
    await fc.assert(
      fc.asyncProperty(setupArb, fc.array(opArb, { minLength: 1, maxLength: 12 }), async (setup, ops) => {
        await runScenario(setup, ops);
      }),
      { numRuns: Number(process.env.RUNS ?? 50), endOnFailure: true, examples: [EXAMPLE] },
    );
    if (process.env.SHOW_TALLY)
      console.log(JSON.stringify([...outcomes].map(([k, o]) => [k, o.ok, [...o.refused]])));
    const summary = Object.fromEntries(
      [...outcomes].map(([kind, o]) => [kind, { ok: o.ok, refused: [...o.refused].sort() }]),
    );
    for (const kind of OP_KINDS) expect([kind, summary[kind]?.ok ?? 0]).not.toEqual([kind, 0]);
    const refusals = new Set([...outcomes.values()].flatMap((o) => [...o.refused]));
    // The named refusals themselves are proven one by one in certificates-rules.test.ts; here the random runs
    // must at least have reached a good spread of them.
    expect(refusals.size).toBeGreaterThanOrEqual(6);
  });
});
