/**
 * Consortium parameters and the pause: while paused, every write of every contract (read from the chaincode's
 * own metadata) is refused with CONSORTIUM_PAUSED naming who paused, when and why; reads stay open; resume.
 */
import { JSONSerializer } from 'fabric-contract-api';
import { contracts } from '@gec/chaincode';
import { GecClient, type LotJson, expectRefused } from './support/gec-client';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const ChaincodeFromContract = require('fabric-shim/lib/contract-spi/chaincodefromcontract');

let gec: GecClient;

beforeAll(async () => {
  gec = await GecClient.start({ batch: { batchTimeoutMs: 1 } });
});

afterAll(async () => {
  await gec?.close();
});

interface ParametersJson {
  validityMonths: number;
  minTransferVolume: number;
  maxTransferVolume: number;
  paused: boolean;
  pausedBy: string;
  pausedByMsp: string;
  pausedAt: string;
  pauseReason: string;
  pausedTxId: string;
  updatedTxId: string;
}

const parameters = () => gec.evaluate<ParametersJson>('parameters:GetParameters', undefined);

/** Every `Contract:Function` declared as a write (SUBMIT) in the chaincode's metadata. */
function writeTransactions(): string[] {
  const chaincode = new ChaincodeFromContract(
    [...contracts],
    { transaction: 'jsonSerializer', serializers: { jsonSerializer: JSONSerializer } },
    {},
    'gec',
    '0.1.0',
  );
  const metadata = JSON.parse(JSON.stringify(chaincode.metadata)) as {
    contracts: Record<string, { transactions: Array<{ name: string; tag?: string[] }> }>;
  };
  return Object.entries(metadata.contracts).flatMap(([name, contract]) =>
    contract.transactions.filter((t) => t.tag?.includes('SUBMIT')).map((t) => `${name}:${t.name}`),
  );
}

describe('parameters', () => {
  it('starts from the defaults (validity 24 months, transfers of 1 to 9,999,999, not paused)', async () => {
    expect(await parameters()).toMatchObject({
      validityMonths: 24,
      minTransferVolume: 1,
      maxTransferVolume: 9_999_999,
      paused: false,
      updatedTxId: '',
    });
  });

  it('changes only by a consortium admin, with valid values', async () => {
    const before = await parameters();
    const request = { validityMonths: 36, reason: 'policy' };
    await expectRefused(
      gec.submit(gec.ids.tradingClient, 'parameters:SetParameters', request),
      'ROLE_NOT_PERMITTED',
    );
    await expectRefused(
      gec.submit(gec.ids.gridPlatform, 'parameters:SetParameters', request),
      'ROLE_NOT_PERMITTED',
    );
    await expectRefused(
      gec.submit(gec.ids.regulator, 'parameters:SetParameters', request),
      'REGULATOR_READ_ONLY',
    );
    await expectRefused(
      gec.submit(gec.ids.gridAdmin, 'parameters:SetParameters', {
        minTransferVolume: 10,
        maxTransferVolume: 5,
        reason: 'x',
      }),
      'INVALID_ARGUMENT',
      'minTransferVolume',
    );
    await expectRefused(
      gec.submit(gec.ids.gridAdmin, 'parameters:SetParameters', { reason: 'nothing' }),
      'INVALID_ARGUMENT',
    );
    await expectRefused(
      gec.submit(gec.ids.gridAdmin, 'parameters:SetParameters', { validityMonths: 0, reason: 'x' }),
      'INVALID_ARGUMENT',
      'validityMonths',
    );
    expect(await parameters()).toEqual(before);
    const tx = await gec.submit(gec.ids.tradingAdmin, 'parameters:SetParameters', request);
    expect(await parameters()).toMatchObject({ validityMonths: 36, updatedTxId: tx.txId });
    await gec.submit(gec.ids.gridAdmin, 'parameters:SetParameters', { validityMonths: 24, reason: 'back' });
  });
});

describe('pause', () => {
  it('refuses every write of every contract while paused, naming the pause; reads stay open; resume', async () => {
    const lot = await gec.issuedLot('2026-03', 5);
    const consumer = await gec.participant('CONSUMER');

    await expectRefused(
      gec.submit(gec.ids.tradingClient, 'parameters:Pause', { reason: 'x' }),
      'ROLE_NOT_PERMITTED',
    );
    await expectRefused(gec.submit(gec.ids.gridAdmin, 'parameters:Pause', {}), 'INVALID_ARGUMENT', 'reason');
    await expectRefused(gec.submit(gec.ids.gridAdmin, 'parameters:Resume', { reason: 'x' }), 'NOT_PAUSED');

    const pause = await gec.submit(gec.ids.gridAdmin, 'parameters:Pause', { reason: '链上升级维护' });
    const paused = await parameters();
    expect(paused).toMatchObject({
      paused: true,
      pausedByMsp: 'GridMSP',
      pauseReason: '链上升级维护',
      pausedTxId: pause.txId,
    });

    const writes = writeTransactions();
    expect(writes).toEqual(
      expect.arrayContaining([
        'identity:RegisterParticipant',
        'units:RegisterUnit',
        'metering:AttestMeterPeriod',
        'certificates:Issue',
        'certificates:Transfer',
        'redemption:Redeem',
        'parameters:SetParameters',
        'parameters:Pause',
      ]),
    );
    for (const write of writes.filter((w) => w !== 'parameters:Resume')) {
      const message = await expectRefused(
        gec.submit(gec.ids.gridAdmin, write, {}),
        'CONSORTIUM_PAUSED',
        '链上升级维护',
      );
      expect(message).toContain(paused.pausedAt);
      expect(message).toContain('GridMSP');
    }
    // A well-formed transfer is refused too, and changes nothing.
    await expectRefused(
      gec.submit(gec.ids.tradingClient, 'certificates:Transfer', {
        lotId: lot.id,
        from: lot.owner,
        to: consumer,
      }),
      'CONSORTIUM_PAUSED',
    );

    // Reads stay open.
    expect(await gec.lot(lot.id)).toEqual(lot);
    expect(await gec.evaluate('redemption:CheckRedemption', lot.serialEnd)).toMatchObject({
      redeemed: false,
    });
    expect(
      (await gec.evaluate<{ items: LotJson[] }>('queries:ListLots', { owner: lot.owner })).items,
    ).toHaveLength(1);
    expect(await gec.evaluate('units:GetUnit', lot.unitId)).toMatchObject({ id: lot.unitId });

    await expectRefused(
      gec.submit(gec.ids.tradingClient, 'parameters:Resume', { reason: 'x' }),
      'ROLE_NOT_PERMITTED',
    );
    await expectRefused(
      gec.submit(gec.ids.regulator, 'parameters:Resume', { reason: 'x' }),
      'REGULATOR_READ_ONLY',
    );
    expect(await parameters()).toEqual(paused);

    await gec.submit(gec.ids.tradingAdmin, 'parameters:Resume', { reason: '维护完成' });
    expect(await parameters()).toMatchObject({ paused: false, pauseReason: '', pausedTxId: '' });
    await gec.submit(gec.ids.tradingClient, 'certificates:Transfer', {
      lotId: lot.id,
      from: lot.owner,
      to: consumer,
    });
    expect(await gec.lot(lot.id)).toMatchObject({ owner: consumer });
  });
});
