/**
 * Fabric's execute–order–validate semantics, proven through the real path: signed proposals, fabric-shim's
 * ChaincodeStub and contract router, endorsement by two organisations, ordering into blocks, validation in
 * block order, and the block store. The probe contract keeps the gec rules out of the way.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { common } from '@hyperledger/fabric-protos';
import {
  CommitError,
  EndorseError,
  type ChaincodeEvent,
  type SubmittedTransaction,
} from '../../src/ledger/port';
import { createTestNetwork, type TestNetwork } from '../../src/ledger/embedded/testing';
import { ProbeContract } from './fixtures/probe-contract';

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

describe('embedded ledger: execute–order–validate', () => {
  let net: TestNetwork;
  const probe = (transaction: string, ...args: string[]) => ({
    identity: net.ids.gridAdmin,
    transaction: `probe:${transaction}`,
    args,
  });

  beforeEach(async () => {
    // A generous batch timeout puts concurrent submissions into one block, as a busy orderer would.
    net = await createTestNetwork({ contracts: [ProbeContract], batch: { batchTimeoutMs: 50 } });
  });
  afterEach(async () => net.close());

  it('commits a write and answers with tx id, block number and VALID', async () => {
    const result = await net.ledger.submit(probe('Put', 'k1', 'v1'));
    expect(result.validationCode).toBe('VALID');
    expect(result.blockNumber).toBe(1);
    expect(result.txId).toMatch(/^[0-9a-f]{64}$/);
    expect(text(await net.ledger.evaluate(probe('Get', 'k1')))).toBe('v1');
    const info = await net.ledger.getTransaction(result.txId);
    expect(info).toMatchObject({
      blockNumber: 1,
      validationCode: 'VALID',
      creatorMspId: 'GridMSP',
      transaction: 'probe:Put',
    });
  });

  it('two concurrent read-modify-writes of one key: one VALID, one MVCC_READ_CONFLICT that writes nothing', async () => {
    await net.ledger.submit(probe('Put', 'counter', '10'));
    const outcomes = await Promise.allSettled([
      net.ledger.submit(probe('Increment', 'counter')),
      net.ledger.submit(probe('Increment', 'counter')),
    ]);
    const valid = outcomes.filter(
      (o) => o.status === 'fulfilled',
    ) as PromiseFulfilledResult<SubmittedTransaction>[];
    const conflicts = outcomes.filter((o) => o.status === 'rejected') as PromiseRejectedResult[];
    expect(valid).toHaveLength(1);
    expect(conflicts).toHaveLength(1);
    const error = conflicts[0].reason as CommitError;
    expect(error).toBeInstanceOf(CommitError);
    expect(error.status.validationCode).toBe('MVCC_READ_CONFLICT');
    expect(error.status.blockNumber).toBe(valid[0].value.blockNumber);
    expect(text(await net.ledger.evaluate(probe('Get', 'counter')))).toBe('11');
    const info = await net.ledger.getTransaction(error.status.txId);
    expect(info?.validationCode).toBe('MVCC_READ_CONFLICT');
    // The invalid transaction left no trace in the key's history.
    const history = JSON.parse(text(await net.ledger.evaluate(probe('History', 'counter')))) as Array<{
      txId: string;
    }>;
    expect(history.map((h) => h.txId)).not.toContain(error.status.txId);
  });

  it('detects a phantom: a key inserted into a range another transaction counted', async () => {
    await net.ledger.submit(probe('Put', 'lot-1', 'a'));
    await net.ledger.submit(probe('Put', 'lot-3', 'c'));
    // Both go into one block; the insert is ordered first, so the count no longer holds at validation.
    const insert = net.ledger.submit(probe('Put', 'lot-2', 'b'));
    await new Promise((r) => setTimeout(r, 5));
    const count = net.ledger.submit(probe('CountRange', 'lot-', 'lot-~', 'lot-count'));
    const [inserted, counted] = await Promise.allSettled([insert, count]);
    expect(inserted.status).toBe('fulfilled');
    expect(counted.status).toBe('rejected');
    const error = (counted as PromiseRejectedResult).reason as CommitError;
    expect(error.status.validationCode).toBe('PHANTOM_READ_CONFLICT');
    await expect(net.ledger.evaluate(probe('Get', 'lot-count'))).rejects.toThrow(/PROBE_NOT_FOUND/);
    // Counted again on the new state, it commits.
    const again = await net.ledger.submit(probe('CountRange', 'lot-', 'lot-~', 'lot-count'));
    expect(text(again.result)).toBe('3');
  });

  it('has no read-your-writes inside a transaction', async () => {
    const first = await net.ledger.submit(probe('PutThenGet', 'ryw', 'new'));
    expect(text(first.result)).toBe('<absent>');
    const second = await net.ledger.submit(probe('PutThenGet', 'ryw', 'newer'));
    expect(text(second.result)).toBe('new');
  });

  it('keeps key history of valid transactions, newest first, including deletes', async () => {
    const a = await net.ledger.submit(probe('Put', 'h', '1'));
    const b = await net.ledger.submit(probe('Put', 'h', '2'));
    const c = await net.ledger.submit(probe('Delete', 'h'));
    const d = await net.ledger.submit(probe('Put', 'h', '3'));
    const history = JSON.parse(text(await net.ledger.evaluate(probe('History', 'h')))) as Array<{
      txId: string;
      value: string;
      isDelete: boolean;
    }>;
    expect(history.map((h) => h.txId)).toEqual([d.txId, c.txId, b.txId, a.txId]);
    expect(history.map((h) => (h.isDelete ? '<deleted>' : h.value))).toEqual(['3', '<deleted>', '2', '1']);
  });

  it('delivers chaincode events only for valid transactions, in commit order, resumable from a checkpoint', async () => {
    await net.ledger.submit(probe('Put', 'counter', '0'));
    await Promise.allSettled([
      net.ledger.submit(probe('Increment', 'counter')),
      net.ledger.submit(probe('Increment', 'counter')),
    ]);
    const last = await net.ledger.submit(probe('Put', 'done', 'yes'));

    const collect = async (start: { blockNumber: number; txId?: string }, until: string) => {
      const stream = net.ledger.chaincodeEvents({ start });
      const events: ChaincodeEvent[] = [];
      for await (const event of stream) {
        events.push(event);
        if (event.txId === until) break;
      }
      stream.close();
      return events;
    };
    const all = await collect({ blockNumber: 0 }, last.txId);
    expect(all.map((e) => e.eventName)).toEqual(['Put', 'Incremented', 'Put']);
    for (const event of all)
      expect((await net.ledger.getTransaction(event.txId))?.validationCode).toBe('VALID');

    // Resume after the first event, as a projection with a stored checkpoint does after a restart.
    await net.restart();
    const resumed = await collect({ blockNumber: all[0].blockNumber, txId: all[0].txId }, last.txId);
    expect(resumed.map((e) => e.txId)).toEqual(all.slice(1).map((e) => e.txId));
  });

  it('follows live commits on an open event stream', async () => {
    const stream = net.ledger.chaincodeEvents();
    const received = (async () => {
      for await (const event of stream) return event;
      return undefined;
    })();
    const committed = await net.ledger.submit(probe('Put', 'live', 'yes'));
    const event = await received;
    stream.close();
    expect(event?.txId).toBe(committed.txId);
    expect(JSON.parse(text(event!.payload))).toEqual({ key: 'live', value: 'yes' });
  });

  it('refuses a chaincode error at endorsement: nothing is ordered', async () => {
    const height = (await net.ledger.getChainInfo()).height;
    const failure = net.ledger.submit(probe('Fail', 'because'));
    await expect(failure).rejects.toBeInstanceOf(EndorseError);
    await expect(failure).rejects.toMatchObject({
      chaincodeMessage: expect.stringContaining('PROBE_REFUSED: because'),
    });
    expect((await net.ledger.getChainInfo()).height).toBe(height);
  });

  it('marks a transaction endorsed by too few organisations ENDORSEMENT_POLICY_FAILURE', async () => {
    const lonely = net.ledger.submit({ ...probe('Put', 'policy', 'x'), endorsingOrganizations: ['GridMSP'] });
    await expect(lonely).rejects.toMatchObject({ status: { validationCode: 'ENDORSEMENT_POLICY_FAILURE' } });
    await expect(net.ledger.evaluate(probe('Get', 'policy'))).rejects.toThrow(/PROBE_NOT_FOUND/);
    // The regulator's peer cannot stand in for the trading center.
    const wrong = net.ledger.submit({
      ...probe('Put', 'policy', 'x'),
      endorsingOrganizations: ['GridMSP', 'RegulatorMSP'],
    });
    await expect(wrong).rejects.toMatchObject({ status: { validationCode: 'ENDORSEMENT_POLICY_FAILURE' } });
  });

  it('applies a key-level endorsement policy (state-based endorsement) instead of the chaincode policy', async () => {
    await net.ledger.submit(probe('Put', 'sbe', 'v0'));
    await net.ledger.submit(probe('RestrictKey', 'sbe', 'TradingCenterMSP'));
    // The trading center alone may now change the key, although the chaincode policy needs two orgs...
    const alone = await net.ledger.submit({
      ...probe('Put', 'sbe', 'v1'),
      endorsingOrganizations: ['TradingCenterMSP'],
    });
    expect(alone.validationCode).toBe('VALID');
    // ...and the grid alone may not.
    const grid = net.ledger.submit({ ...probe('Put', 'sbe', 'v2'), endorsingOrganizations: ['GridMSP'] });
    await expect(grid).rejects.toMatchObject({ status: { validationCode: 'ENDORSEMENT_POLICY_FAILURE' } });
    expect(text(await net.ledger.evaluate(probe('Get', 'sbe')))).toBe('v1');
  });

  // Fabric's key-level validator (ValidationParameterUpdatedError): the endorsers of a later transaction
  // simulated against the policy before the change, so it fails the policy check, not MVCC.
  /** Endorse every request against the same state, then order them in this order: one block, this order. */
  const inOneBlock = async (...requests: Array<ReturnType<typeof probe>>) => {
    const endorsed = [];
    for (const request of requests) endorsed.push(await net.ledger.endorseForOrdering(request));
    const outcomes = await Promise.allSettled(endorsed.map((e) => e.order()));
    return outcomes.map((o) =>
      o.status === 'fulfilled'
        ? { code: o.value.validationCode as string, block: o.value.blockNumber }
        : {
            code: (o.reason as CommitError).status.validationCode as string,
            block: (o.reason as CommitError).status.blockNumber,
          },
    );
  };

  // Fabric's key-level validator (ValidationParameterUpdatedError): the endorsers of a later transaction
  // simulated against the policy before the change, so it fails the policy check, not MVCC.
  it('refuses a write to a key whose policy an earlier transaction of the same block changed (ENDORSEMENT_POLICY_FAILURE)', async () => {
    await net.ledger.submit(probe('Put', 'sbe-block', 'v0'));
    // The write is endorsed by both organisations: it would satisfy the old policy and the new one alike.
    const [restricted, written] = await inOneBlock(
      probe('RestrictKey', 'sbe-block', 'GridMSP,TradingCenterMSP'),
      probe('Put', 'sbe-block', 'v1'),
    );
    expect(restricted.code).toBe('VALID');
    expect(written).toEqual({ code: 'ENDORSEMENT_POLICY_FAILURE', block: restricted.block });
    expect(text(await net.ledger.evaluate(probe('Get', 'sbe-block')))).toBe('v0');
    // In the next block the write is judged by the new policy and passes it.
    const again = await net.ledger.submit(probe('Put', 'sbe-block', 'v1'));
    expect(again.validationCode).toBe('VALID');
  });

  it('counts a policy change that later lost its MVCC check: the write after it still fails the policy', async () => {
    await net.ledger.submit(probe('Put', 'sbe-read', 'r0'));
    await net.ledger.submit(probe('Put', 'sbe-lost', 'v0'));
    const outcomes = await inOneBlock(
      probe('Put', 'sbe-read', 'r1'),
      probe('RestrictKeyAfterRead', 'sbe-read', 'sbe-lost', 'TradingCenterMSP'),
      probe('Put', 'sbe-lost', 'v1'),
    );
    expect(new Set(outcomes.map((o) => o.block)).size).toBe(1);
    expect(outcomes.map((o) => o.code)).toEqual([
      'VALID',
      'MVCC_READ_CONFLICT',
      'ENDORSEMENT_POLICY_FAILURE',
    ]);
    // The policy change never applied: both organisations still write the key under the chaincode policy.
    expect((await net.ledger.submit(probe('Put', 'sbe-lost', 'v2'))).validationCode).toBe('VALID');
  });

  it('commits a transaction id once: a second copy in the block is DUPLICATE_TXID, a later one is refused', async () => {
    const prepared = net.ledger.prepare(probe('Increment', 'dup'));
    const [a, b] = await Promise.all([net.ledger.submit(prepared), net.ledger.submit(prepared)]);
    expect(a.txId).toBe(prepared.txId);
    expect(b.txId).toBe(prepared.txId);
    const block = common.Block.deserializeBinary((await net.ledger.getBlock(a.blockNumber))!);
    const codes = [
      ...block.getMetadata()!.getMetadataList_asU8()[common.BlockMetadataIndex.TRANSACTIONS_FILTER],
    ];
    expect(codes).toEqual([0, 9]); // VALID, DUPLICATE_TXID
    expect(text(await net.ledger.evaluate(probe('Get', 'dup')))).toBe('1');
    await expect(net.ledger.submit(prepared)).rejects.toThrow(/duplicate transaction found/);
  });

  it('returns typed objects from a transaction (class-transformer 0.4.0 pin)', async () => {
    await net.ledger.submit(probe('Put', 'obj', 'value'));
    const record = JSON.parse(text(await net.ledger.evaluate(probe('Record', 'obj'))));
    expect(record).toEqual({ key: 'obj', value: 'value', txId: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it("gives the chaincode the caller's X.509 identity, its attributes and the client's timestamp", async () => {
    const before = Date.now();
    const who = JSON.parse(
      text(await net.ledger.evaluate({ ...probe('WhoAmI'), identity: net.ids.regulator })),
    );
    expect(who.mspId).toBe('RegulatorMSP');
    expect(who.role).toBe('regulator');
    expect(who.id).toMatch(/^x509::.*CN=regulator.*::.*CN=ca\.regulator\.gec\.example/);
    expect(who.peerMsp).toBe('RegulatorMSP');
    expect(Math.abs(new Date(who.time).getTime() - before)).toBeLessThan(5000);
  });

  it('detects a tampered block file in chain verification, and refuses to reopen on it', async () => {
    await net.ledger.submit(probe('Put', 'amount', 'value-1000'));
    await net.ledger.submit(probe('Put', 'other', 'x'));
    const file = join(net.dataDir, 'ledger', 'blocks', 'blockfile_000000');
    const bytes = await readFile(file);
    const at = bytes.indexOf(Buffer.from('value-1000'));
    expect(at).toBeGreaterThan(0);
    bytes.write('value-9000', at);
    await writeFile(file, bytes);
    const verification = await net.ledger.verifyChain();
    expect(verification.ok).toBe(false);
    expect(verification.problems.join('\n')).toMatch(/block 1\b/);
    expect((await net.ledger.getChainInfo()).height).toBe(3);
    // The damage is inside an indexed block: opening must not 'repair' it away, nor serve it.
    await expect(net.restart()).rejects.toThrow(/^block store damaged at block 1: /);
  });

  it("serves the system contract's GetMetadata, which validates against fabric-contract-api's schema", async () => {
    const metadata = JSON.parse(
      text(await net.ledger.evaluate({ ...probe('x'), transaction: 'org.hyperledger.fabric:GetMetadata' })),
    );
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Ajv = require('ajv');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const schema = require('fabric-contract-api/schema/contract-schema.json');
    const ajv = new Ajv({ schemaId: 'auto' });
    ajv.addMetaSchema(require('ajv/lib/refs/json-schema-draft-04.json')); // eslint-disable-line @typescript-eslint/no-require-imports
    expect(ajv.validate(schema, metadata)).toBe(true);
    expect(Object.keys(metadata.contracts)).toEqual(
      expect.arrayContaining(['probe', 'org.hyperledger.fabric']),
    );
  });

  it('hash-chains blocks: chain info and verification', async () => {
    await net.ledger.submit(probe('Put', 'a', '1'));
    await net.ledger.submit(probe('Put', 'b', '2'));
    const info = await net.ledger.getChainInfo();
    expect(info.height).toBe(3);
    const last = common.Block.deserializeBinary((await net.ledger.getBlock(2))!);
    expect(Buffer.from(last.getHeader()!.getPreviousHash_asU8()).toString('hex')).toBe(
      info.previousBlockHash,
    );
    expect(await net.ledger.verifyChain()).toEqual({ ok: true, height: 3, problems: [] });
  });
});
