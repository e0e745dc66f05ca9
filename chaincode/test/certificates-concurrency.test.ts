/**
 * Twenty concurrent transfers of the same lot: they are endorsed against the same committed version, so
 * exactly one commits and the other nineteen are invalidated (ENDORSEMENT_POLICY_FAILURE in the winner's block,
 * MVCC_READ_CONFLICT after it) and change nothing.
 */
import { GecClient, type LotJson, type PageJson } from './support/gec-client';

let gec: GecClient;

beforeAll(async () => {
  gec = await GecClient.start({ batch: { batchTimeoutMs: 20 } });
});

afterAll(async () => {
  await gec?.close();
});

it('commits exactly one of 20 concurrent transfers of one lot; the rest fail validation and change nothing', async () => {
  const lot = await gec.issuedLot('2026-03', 100);
  const buyers: string[] = [];
  for (let i = 0; i < 20; i++) buyers.push(await gec.participant('CONSUMER'));

  const outcomes = await Promise.allSettled(
    buyers.map((to, i) =>
      gec.submit(i % 2 === 0 ? gec.ids.tradingClient : gec.ids.tradingAdmin, 'certificates:Transfer', {
        lotId: lot.id,
        from: lot.owner,
        to,
        volume: 10,
      }),
    ),
  );
  const committed = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
  const conflicts = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
  expect(committed).toHaveLength(1);
  expect(conflicts).toHaveLength(19);
  // Every transfer splits off the same child lot (the top 10 serials) and sets its key-level policy. In the
  // winner's block the others therefore fail Fabric's key-level validation first (a key whose policy an earlier
  // transaction of the block set: ENDORSEMENT_POLICY_FAILURE); in a later block they pass the committed policy
  // and fail MVCC on the parent lot they read.
  const winnerBlock = (outcomes[committed[0]] as PromiseFulfilledResult<{ blockNumber: number }>).value
    .blockNumber;
  for (const conflict of conflicts) {
    const error = conflict.reason as {
      name?: string;
      status?: { validationCode?: string; blockNumber?: number };
    };
    expect(error.name).toBe('CommitError');
    expect(error.status?.validationCode).toBe(
      error.status?.blockNumber === winnerBlock ? 'ENDORSEMENT_POLICY_FAILURE' : 'MVCC_READ_CONFLICT',
    );
  }

  const winner = buyers[committed[0]];
  expect(await gec.lot(lot.id)).toMatchObject({ owner: lot.owner, volume: 90, sequenceEnd: 90 });
  const lots = await gec.evaluate<PageJson<LotJson>>('queries:ListLots', { unitId: lot.unitId });
  expect(lots.items.map((l) => [l.owner, l.sequenceStart, l.sequenceEnd])).toEqual([
    [lot.owner, 1, 90],
    [winner, 91, 100],
  ]);
  for (const [i, buyer] of buyers.entries()) {
    const owned = await gec.evaluate<PageJson<LotJson>>('queries:ListLots', { owner: buyer });
    expect(owned.items.length).toBe(i === committed[0] ? 1 : 0);
  }
});
