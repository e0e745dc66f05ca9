/**
 * queries:ListObjects, the audit read: every stored object of a type, page by page in key order, each with its
 * key's attributes and its JSON text exactly as written; any member may read it, an unknown type is refused.
 */
import { GecClient, expectRefused } from './support/gec-client';

interface ObjectPage {
  type: string;
  items: Array<{ key: string[]; value: string }>;
  bookmark: string;
  fetchedCount: number;
}

let gec: GecClient;

beforeAll(async () => {
  gec = await GecClient.start({ batch: { batchTimeoutMs: 1 } });
});

afterAll(async () => {
  await gec?.close();
});

describe('queries:ListObjects', () => {
  it('pages through every object of a type in key order, as stored', async () => {
    const ids = [
      await gec.participant('GENERATOR'),
      await gec.participant('CONSUMER'),
      await gec.participant('GENERATOR'),
    ];
    const seen: ObjectPage['items'] = [];
    let bookmark = '';
    do {
      const page = await gec.evaluate<ObjectPage>('queries:ListObjects', {
        type: 'participant',
        pageSize: 2,
        bookmark,
      });
      expect(page.type).toBe('participant');
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items);
      bookmark = page.bookmark;
    } while (bookmark !== '');
    expect(seen.map((item) => item.key)).toEqual([...ids].sort().map((id) => [id]));
    for (const item of seen) {
      // The value is the stored JSON itself: what GetParticipant answers, byte for byte after parsing.
      expect(JSON.parse(item.value)).toEqual(await gec.evaluate('identity:GetParticipant', item.key[0]));
    }
  });

  it('gives composite keys with every attribute (a meter attestation: meter and period)', async () => {
    const owner = await gec.participant('GENERATOR');
    const unit = await gec.unit(owner);
    await gec.attest(unit.meterIds[0], '2026-09', 1_000_000);
    const page = await gec.evaluate<ObjectPage>('queries:ListObjects', {
      type: 'meterAttestation',
      pageSize: 1000,
    });
    const item = page.items.find((i) => i.key[0] === unit.meterIds[0]);
    expect(item?.key).toEqual([unit.meterIds[0], '2026-09']);
    expect(JSON.parse(item!.value)).toMatchObject({
      meterId: unit.meterIds[0],
      period: '2026-09',
      totalWh: '1000000',
    });
  });

  it('refuses an unknown type and an unknown field, naming them', async () => {
    await expectRefused(
      gec.evaluate('queries:ListObjects', { type: 'apiKey' }),
      'INVALID_ARGUMENT',
      'type must be one of participant, unit, consumptionMeter, meterAttestation',
    );
    await expectRefused(
      gec.evaluate('queries:ListObjects', { type: 'lot', owner: 'x' }),
      'INVALID_ARGUMENT',
      'owner',
    );
  });
});
