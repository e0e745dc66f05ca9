/**
 * Identity scenarios (chaincode `identity` contract), written once for every ledger behind the port:
 * registration, read, list, status, role refusals, an MVCC conflict with its validation code, events from
 * a checkpoint, and transaction look-up.
 */
import { CommitError, EndorseError, type SubmittedTransaction } from '../../gateway/src/ledger/port';
import {
  CREDIT_CODE,
  findEvent,
  getParticipant,
  json,
  register,
  setStatus,
  uniqueId,
  type Scenario,
} from './harness';

/** The chaincode's error code of an endorsement refusal (`CODE: message`). */
async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(EndorseError);
    return (err as EndorseError).chaincodeMessage.split(':')[0];
  }
  throw new Error('expected the ledger to refuse the transaction');
}

export const identityScenarios: Scenario[] = [
  {
    name: 'a grid admin registers a participant; any member reads it, the credit code only as a salted hash',
    async run(ledger, ids) {
      const id = uniqueId('GEN');
      const submitted = await register(ledger, ids.gridAdmin, { id, kind: 'GENERATOR', name: 'Wind farm' });
      expect(submitted).toMatchObject({ validationCode: 'VALID', successful: true });
      expect(submitted.txId).toMatch(/^[0-9a-f]{64}$/);
      expect(json(submitted.result)).toMatchObject({ id, kind: 'GENERATOR', status: 'ACTIVE' });
      for (const reader of [ids.regulator, ids.tradingClient, ids.gridPlatform]) {
        const participant = await getParticipant(ledger, reader, id);
        expect(participant).toMatchObject({
          id,
          kind: 'GENERATOR',
          name: 'Wind farm',
          region: '110000',
          status: 'ACTIVE',
        });
        expect(participant.registeredByMsp).toBe('GridMSP');
        expect(participant.registeredTxId).toBe(submitted.txId);
        expect(JSON.stringify(participant)).not.toContain(CREDIT_CODE);
      }
    },
  },
  {
    name: 'participants are listed by kind, one page at a time',
    async run(ledger, ids) {
      const first = uniqueId('CON');
      const second = uniqueId('CON');
      await register(ledger, ids.tradingAdmin, { id: first, kind: 'CONSUMER' });
      await register(ledger, ids.tradingAdmin, { id: second, kind: 'CONSUMER' });
      const all: string[] = [];
      let bookmark = '';
      do {
        const page = json(
          await ledger.evaluate({
            identity: ids.regulator,
            transaction: 'identity:ListParticipants',
            args: [JSON.stringify({ kind: 'CONSUMER', pageSize: 1, bookmark })],
          }),
        ) as { items: Array<{ id: string; kind: string }>; bookmark: string };
        expect(page.items.length).toBeLessThanOrEqual(1);
        for (const item of page.items) {
          expect(item.kind).toBe('CONSUMER');
          all.push(item.id);
        }
        bookmark = page.bookmark;
      } while (bookmark !== '');
      expect(all).toEqual(expect.arrayContaining([first, second]));
      expect([...all].sort()).toEqual(all);
    },
  },
  {
    name: 'status changes are recorded; an unchanged status and a change after revocation are refused',
    async run(ledger, ids) {
      const id = uniqueId('GEN');
      await register(ledger, ids.gridAdmin, { id, kind: 'GENERATOR' });
      await setStatus(ledger, ids.tradingAdmin, id, 'SUSPENDED', 'meter audit');
      expect(await getParticipant(ledger, ids.regulator, id)).toMatchObject({
        status: 'SUSPENDED',
        statusReason: 'meter audit',
      });
      expect(await refusal(setStatus(ledger, ids.gridAdmin, id, 'SUSPENDED'))).toBe('STATUS_UNCHANGED');
      await setStatus(ledger, ids.gridAdmin, id, 'REVOKED');
      expect(await refusal(setStatus(ledger, ids.gridAdmin, id, 'ACTIVE'))).toBe('PARTICIPANT_REVOKED');
    },
  },
  {
    name: "role refusals: regulator read-only, the platform's client, a trading center outside its kinds, missing credit code, duplicates",
    async run(ledger, ids) {
      const id = uniqueId('GEN');
      expect(await refusal(register(ledger, ids.regulator, { id, kind: 'GENERATOR' }))).toBe(
        'REGULATOR_READ_ONLY',
      );
      expect(await refusal(register(ledger, ids.tradingClient, { id, kind: 'GRID_OPERATOR' }))).toBe(
        'KIND_NOT_PERMITTED',
      );
      expect(await refusal(register(ledger, ids.gridPlatform, { id, kind: 'GENERATOR' }))).toBe(
        'ROLE_NOT_PERMITTED',
      );
      expect(await refusal(register(ledger, ids.tradingAdmin, { id, kind: 'GRID_OPERATOR' }))).toBe(
        'KIND_NOT_PERMITTED',
      );
      expect(await refusal(register(ledger, ids.gridAdmin, { id, kind: 'GENERATOR' }, null))).toBe(
        'CREDIT_CODE_REQUIRED',
      );
      await register(ledger, ids.gridAdmin, { id, kind: 'GENERATOR' });
      expect(await refusal(register(ledger, ids.gridAdmin, { id, kind: 'GENERATOR' }))).toBe(
        'PARTICIPANT_EXISTS',
      );
      expect(await refusal(getParticipant(ledger, ids.regulator, uniqueId('NONE')))).toBe(
        'PARTICIPANT_NOT_FOUND',
      );
    },
  },
  {
    name: 'two concurrent status changes of one participant: one VALID, the other MVCC_READ_CONFLICT and no change',
    async run(ledger, ids) {
      const id = uniqueId('GEN');
      await register(ledger, ids.gridAdmin, { id, kind: 'GENERATOR' });
      const outcomes = await Promise.allSettled([
        setStatus(ledger, ids.gridAdmin, id, 'SUSPENDED', 'first'),
        setStatus(ledger, ids.tradingAdmin, id, 'SUSPENDED', 'second'),
      ]);
      const valid = outcomes.filter(
        (o) => o.status === 'fulfilled',
      ) as PromiseFulfilledResult<SubmittedTransaction>[];
      const failed = outcomes.filter((o) => o.status === 'rejected') as PromiseRejectedResult[];
      expect(valid).toHaveLength(1);
      expect(failed).toHaveLength(1);
      const conflict = failed[0].reason as CommitError;
      expect(conflict).toBeInstanceOf(CommitError);
      expect(conflict.status).toMatchObject({ validationCode: 'MVCC_READ_CONFLICT', successful: false });
      const participant = await getParticipant(ledger, ids.regulator, id);
      expect(participant.updatedTxId).toBe(valid[0].value.txId);
      const info = await ledger.getTransaction(conflict.status.txId);
      expect(info?.validationCode).toBe('MVCC_READ_CONFLICT');
    },
  },
  {
    name: 'chaincode events resume from a checkpoint, after the checkpointed transaction',
    async run(ledger, ids) {
      const first = await register(ledger, ids.gridAdmin, { id: uniqueId('GEN'), kind: 'GENERATOR' });
      const second = await register(ledger, ids.gridAdmin, { id: uniqueId('GEN'), kind: 'GENERATOR' });
      const fromFirst = await findEvent(
        ledger.chaincodeEvents({ start: { blockNumber: first.blockNumber } }),
        (e) => e.txId === second.txId,
      );
      const firstEvent = fromFirst.find((e) => e.txId === first.txId);
      expect(firstEvent).toMatchObject({
        blockNumber: first.blockNumber,
        eventName: 'ParticipantRegistered',
        chaincodeName: 'gec',
      });
      expect(firstEvent!.txNumber).toBe((await ledger.getTransaction(first.txId))!.txNumber);
      const afterFirst = await findEvent(
        ledger.chaincodeEvents({ start: { blockNumber: first.blockNumber, txId: first.txId } }),
        (e) => e.txId === second.txId,
      );
      expect(afterFirst.map((e) => e.txId)).not.toContain(first.txId);
      expect(afterFirst[afterFirst.length - 1]).toMatchObject({
        txId: second.txId,
        blockNumber: second.blockNumber,
      });
      const payload = json(afterFirst[afterFirst.length - 1].payload) as { participant: { id: string } };
      expect(payload.participant.id).toBe((json(second.result) as { id: string }).id);
    },
  },
  {
    name: 'transactions and blocks are looked up, and the hash chain verifies',
    async run(ledger, ids) {
      const submitted = await register(ledger, ids.tradingAdmin, { id: uniqueId('GEN'), kind: 'GENERATOR' });
      const info = await ledger.getTransaction(submitted.txId);
      expect(info).toMatchObject({
        txId: submitted.txId,
        blockNumber: submitted.blockNumber,
        validationCode: 'VALID',
        creatorMspId: 'TradingCenterMSP',
        transaction: 'identity:RegisterParticipant',
      });
      expect(Math.abs(Date.parse(info!.timestamp) - Date.parse(submitted.timestamp))).toBeLessThan(1000);
      expect(await ledger.getTransaction('0'.repeat(64))).toBeUndefined();
      const block = await ledger.getBlock(submitted.blockNumber);
      expect(block?.length).toBeGreaterThan(0);
      const chain = await ledger.getChainInfo();
      expect(chain.height).toBeGreaterThan(submitted.blockNumber);
      const verification = await ledger.verifyChain();
      expect(verification).toMatchObject({ ok: true, problems: [] });
    },
  },
];
