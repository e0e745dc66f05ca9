/**
 * Kill -9 during commits, restart, and find the ledger consistent and resumable. The writer runs the real
 * gec chaincode through the whole pipeline in a child process (compiled by the root `npm test` build).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { common, peer } from '@hyperledger/fabric-protos';
import { EmbeddedLedger } from '../../src/ledger/embedded/embedded-ledger';

const WRITER = resolve(__dirname, '../../dist/tools/ledger-crash-writer.js');

interface Committed {
  id: string;
  txId: string;
  block: number;
}

/** When to kill: a time after the writer is ready, or as soon as it has reported a number of commits. */
type Kill = { afterMs: number } | { afterCommits: number };

/**
 * Start the writer, SIGKILL it at the given moment; returns what it reported as committed. Mid-stream kills are
 * counted in commits, not milliseconds: on a busy machine a time-based kill found too few commits to prove
 * anything (the test failed under load), while a count lands at the same point of the stream whatever the load.
 */
function runAndKill(dataDir: string, prefix: string, kill: Kill): Promise<Committed[]> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [WRITER, dataDir, prefix], { stdio: ['ignore', 'pipe', 'pipe'] });
    const committed: Committed[] = [];
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const msg = JSON.parse(line);
      if (msg.ready) {
        if ('afterMs' in kill) setTimeout(() => child.kill('SIGKILL'), kill.afterMs);
        return;
      }
      committed.push(msg);
      if ('afterCommits' in kill && committed.length === kill.afterCommits) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolvePromise(committed);
      else reject(new Error(`writer exited with ${code}: ${stderr}`));
    });
  });
}

const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

describe('embedded ledger: crash safety', () => {
  let dataDir: string;
  beforeAll(async () => {
    if (!existsSync(WRITER))
      throw new Error(`${WRITER} is missing: run the root 'npm test' (it builds first)`);
    dataDir = await mkdtemp(join(tmpdir(), 'gec-crash-'));
  });
  afterAll(async () => rm(dataDir, { recursive: true, force: true }));

  it('after SIGKILL mid-commit, every reported commit is there, blocks are whole, state matches, writes resume', async () => {
    const reported: Committed[] = [];
    // Kill at different moments: right after start-up, and after 1 to 12 commits (mid-stream, later).
    const kills: Kill[] = [
      { afterCommits: 6 },
      { afterMs: 75 },
      { afterCommits: 1 },
      { afterCommits: 12 },
      { afterCommits: 4 },
    ];
    for (const [round, kill] of kills.entries()) {
      reported.push(...(await runAndKill(dataDir, `R${round}`, kill)));
    }
    expect(reported.length).toBeGreaterThanOrEqual(23);

    const ledger = await EmbeddedLedger.open({ dataDir });
    try {
      const verification = await ledger.verifyChain();
      expect(verification.problems).toEqual([]);

      // Every commit a client was told about survived, with its block and code.
      for (const c of reported) {
        const info = await ledger.getTransaction(c.txId);
        expect(info).toMatchObject({ blockNumber: c.block, validationCode: 'VALID' });
      }

      // State agrees with the blocks: every valid registration in any block is readable, nothing else is.
      const { height } = await ledger.getChainInfo();
      const registered: string[] = [];
      for (let n = 1; n < height; n++) {
        const block = common.Block.deserializeBinary((await ledger.getBlock(n))!);
        const codes = block.getMetadata()!.getMetadataList_asU8()[
          common.BlockMetadataIndex.TRANSACTIONS_FILTER
        ];
        expect(codes.length).toBe(block.getData()!.getDataList().length);
        block
          .getData()!
          .getDataList_asU8()
          .forEach((envelope, i) => {
            if (codes[i] !== peer.TxValidationCode.VALID) return;
            const payload = common.Payload.deserializeBinary(
              common.Envelope.deserializeBinary(envelope).getPayload_asU8(),
            );
            const tx = peer.Transaction.deserializeBinary(payload.getData_asU8());
            const action = peer.ChaincodeActionPayload.deserializeBinary(
              tx.getActionsList()[0].getPayload_asU8(),
            );
            const prp = peer.ProposalResponsePayload.deserializeBinary(
              action.getAction()!.getProposalResponsePayload_asU8(),
            );
            const cc = peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8());
            const response = JSON.parse(text(cc.getResponse()!.getPayload_asU8())) as { id?: string };
            // The writer's registrations; the ledger's own first-start registration of the consortium has no id.
            if (response.id !== undefined) registered.push(response.id);
          });
      }
      expect(new Set(registered).size).toBe(registered.length);
      for (const c of reported) expect(registered).toContain(c.id);
      const gate = { identity: { mspId: 'RegulatorMSP', name: 'regulator' } };
      for (const id of registered) {
        const got = JSON.parse(
          text(await ledger.evaluate({ ...gate, transaction: 'identity:GetParticipant', args: [id] })),
        );
        expect(got.id).toBe(id);
      }
      // Events replay exactly the valid registrations, once each.
      const stream = ledger.chaincodeEvents({ start: { blockNumber: 0 } });
      const seen: string[] = [];
      for await (const event of stream) {
        if (event.eventName === 'ConsortiumInitialised') continue;
        seen.push(JSON.parse(text(event.payload)).participant.id);
        if (seen.length === registered.length) break;
      }
      stream.close();
      expect(seen).toEqual(registered);

      // And the ledger takes new work.
      const after = await ledger.submit({
        identity: { mspId: 'GridMSP', name: 'admin' },
        transaction: 'identity:RegisterParticipant',
        args: [JSON.stringify({ id: 'AFTER-CRASH', kind: 'CONSUMER', name: 'Factory', region: '330000' })],
        transient: { creditCode: '91330000123456789X' },
      });
      expect(after.validationCode).toBe('VALID');
      expect(after.blockNumber).toBe(height);
    } finally {
      await ledger.close();
    }
  });
});
