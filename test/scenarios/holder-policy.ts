/**
 * State-based endorsement on a consortium with two trading centers (issue 15): what a trading center's
 * participants hold carries a key-level policy naming that trading center with the platform, so the platform and
 * the *other* trading center cannot move it, although together they satisfy the chaincode policy
 * AND(platform, OR(TC, TC2)). Needs a ledger whose consortium has the second trading center as an active member.
 */
import type { LedgerPort } from '../../gateway/src/ledger/port';
import { CommitError } from '../../gateway/src/ledger/port';
import { consumer, issuedLot, read, type Lot } from './certificates';
import type { Scenario, ScenarioIds } from './harness';

function transfer(
  ledger: LedgerPort,
  ids: ScenarioIds,
  request: { lotId: string; from: string; to: string },
  endorsingOrganizations?: string[],
) {
  return ledger.submit({
    identity: ids.tradingClient,
    transaction: 'certificates:Transfer',
    args: [JSON.stringify(request)],
    endorsingOrganizations,
  });
}

export function holderPolicyScenarios(secondTradingCenter: string): Scenario[] {
  return [
    {
      name: "a lot held through one trading center: the platform with the other trading center's peer cannot move it",
      async run(ledger, ids) {
        const platform = ids.gridAdmin.mspId;
        const { owner, lot } = await issuedLot(ledger, ids, [5_000_000, 0]);
        const [first, second] = [await consumer(ledger, ids), await consumer(ledger, ids)];
        // Planned by the ledger (Fabric's discovery plans for the lot's key-level policy).
        expect((await transfer(ledger, ids, { lotId: lot.id, from: owner, to: first })).validationCode).toBe(
          'VALID',
        );
        // Now held through the first trading center: the platform and the second trading center together
        // satisfy the chaincode policy, not the lot's own.
        const refused = await transfer(ledger, ids, { lotId: lot.id, from: first, to: second }, [
          platform,
          secondTradingCenter,
        ]).then(
          () => 'VALID',
          (error: unknown) =>
            error instanceof CommitError
              ? error.status.validationCode
              : `not a commit error: ${String(error)}`,
        );
        expect(refused).toBe('ENDORSEMENT_POLICY_FAILURE');
        expect(await read<Lot>(ledger, ids.regulator, 'certificates:GetLot', lot.id)).toMatchObject({
          owner: first,
          volume: lot.volume,
        });
        // With the trading center it is held through, it moves.
        const moved = await transfer(ledger, ids, { lotId: lot.id, from: first, to: second }, [
          platform,
          ids.tradingClient.mspId,
        ]);
        expect(moved.validationCode).toBe('VALID');
        expect(await read<Lot>(ledger, ids.regulator, 'certificates:GetLot', lot.id)).toMatchObject({
          owner: second,
        });
      },
    },
  ];
}
