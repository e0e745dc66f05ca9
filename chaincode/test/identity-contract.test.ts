/**
 * The identity contract's rules, run through the embedded ledger (fabric-shim's real ChaincodeStub and
 * contract router, real X.509 creators, blocks and MVCC validation).
 *
 * Each rule is broken once: the named error comes back and the ledger is unchanged. Suites share one network,
 * so every test uses its own participant ids.
 */
import { createHash } from 'crypto';
import { canonicalJson } from '@gec/chaincode';
import type { IdentityRef, LedgerPort, SubmittedTransaction } from '../../gateway/src/ledger/port';
import { createTestNetwork } from '../../gateway/src/ledger/embedded/testing';

type Ids = {
  gridAdmin: IdentityRef;
  gridPlatform: IdentityRef;
  tradingAdmin: IdentityRef;
  tradingClient: IdentityRef;
  regulator: IdentityRef;
};

interface ParticipantJson {
  id: string;
  kind: string;
  name: string;
  region: string;
  status: string;
  credentialHash: string;
  credentialSalt: string;
  registeredByMsp: string;
  registeredBy: string;
  registeredAt: string;
  registeredTxId: string;
  updatedAt: string;
  updatedTxId: string;
  statusReason: string;
}

interface ParticipantPageJson {
  items: ParticipantJson[];
  bookmark: string;
  fetchedCount: number;
}

/** Well-formed unified social credit codes (GB 32100 alphabet: no I, O, S, V, Z). */
const CREDIT_CODE = '91330000MA2CK8RX1L';
const OTHER_CREDIT_CODE = '91110000MA01AB2C3D';

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

let ledger: LedgerPort;
let ids: Ids;
let closeNetwork: () => Promise<void>;

/** Every transaction this file got committed as VALID, and every one that failed, for the event checks. */
const validTxIds: string[] = [];
const failedTxIds: string[] = [];

beforeAll(async () => {
  const network = await createTestNetwork();
  ledger = network.ledger;
  ids = network.ids as Ids;
  closeNetwork = () => network.close();
});

afterAll(async () => {
  await closeNetwork?.();
});

const utf8 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');
const sha256Hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

async function submit(
  identity: IdentityRef,
  fn: string,
  args: string[],
  transient?: Record<string, string>,
): Promise<SubmittedTransaction> {
  try {
    const result = await ledger.submit({ identity, transaction: `identity:${fn}`, args, transient });
    validTxIds.push(result.txId);
    return result;
  } catch (err) {
    // EndorseError carries the transaction id; CommitError carries it in its commit status.
    const failed = err as { txId?: string; status?: { txId?: string } };
    const txId = failed.txId ?? failed.status?.txId;
    if (txId) failedTxIds.push(txId);
    throw err;
  }
}

function register(
  identity: IdentityRef,
  request: Record<string, unknown>,
  /** The transient credit code; null sends no transient map at all. */
  creditCode: string | null = CREDIT_CODE,
): Promise<SubmittedTransaction> {
  return submit(
    identity,
    'RegisterParticipant',
    [JSON.stringify(request)],
    creditCode === null ? undefined : { creditCode },
  );
}

function setStatus(identity: IdentityRef, request: Record<string, unknown>): Promise<SubmittedTransaction> {
  return submit(identity, 'SetParticipantStatus', [JSON.stringify(request)]);
}

async function evaluate(
  identity: IdentityRef,
  fn: string,
  args: string[],
  transient?: Record<string, string>,
): Promise<string> {
  return utf8(await ledger.evaluate({ identity, transaction: `identity:${fn}`, args, transient }));
}

async function getParticipant(id: string, identity: IdentityRef = ids.gridAdmin): Promise<ParticipantJson> {
  return JSON.parse(await evaluate(identity, 'GetParticipant', [id])) as ParticipantJson;
}

async function listParticipants(
  query: Record<string, unknown>,
  identity: IdentityRef = ids.gridAdmin,
): Promise<ParticipantPageJson> {
  return JSON.parse(
    await evaluate(identity, 'ListParticipants', [JSON.stringify(query)]),
  ) as ParticipantPageJson;
}

/** The chaincode's own message from a refused call; fails the test when the call succeeded. */
async function refusal(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (err) {
    const e = err as { name?: string; chaincodeMessage?: string; message?: string };
    expect(e.name).toBe('EndorseError');
    return e.chaincodeMessage ?? '';
  }
  throw new Error('expected the chaincode to refuse the call, but it succeeded');
}

async function expectRefused(call: Promise<unknown>, code: string, mentions?: string): Promise<string> {
  const message = await refusal(call);
  expect(message).toMatch(new RegExp(`^${code}: `));
  if (mentions !== undefined) expect(message).toContain(mentions);
  return message;
}

async function expectNotRegistered(id: string): Promise<void> {
  await expectRefused(evaluate(ids.gridAdmin, 'GetParticipant', [id]), 'PARTICIPANT_NOT_FOUND', id);
}

function generator(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, kind: 'GENERATOR', name: `${id} 风电有限公司`, region: '330000', ...extra };
}

describe('RegisterParticipant', () => {
  it('registers an ACTIVE participant and returns it as a typed object', async () => {
    const request = {
      id: 'grid-op-1',
      kind: 'GRID_OPERATOR',
      name: '国网浙江省电力有限公司',
      region: '330000',
    };
    const tx = await register(ids.gridAdmin, request);

    expect(tx.validationCode).toBe('VALID');
    const returned = JSON.parse(utf8(tx.result)) as ParticipantJson;
    expect(returned).toMatchObject({
      ...request,
      status: 'ACTIVE',
      statusReason: '',
      registeredByMsp: 'GridMSP',
    });
    expect(returned.registeredTxId).toBe(tx.txId);
    expect(returned.updatedTxId).toBe(tx.txId);
    expect(returned.registeredAt).toMatch(RFC3339_UTC);
    expect(returned.updatedAt).toBe(returned.registeredAt);
    expect(returned.registeredBy).toMatch(/^x509::/);
    expect(await getParticipant('grid-op-1')).toEqual(returned);
  });

  it('stores the credit code only as hex(SHA-256(salt:code)) with salt = hex(SHA-256(gec-credential-salt:txId:id))', async () => {
    const tx = await register(ids.gridAdmin, generator('gen-hash'));
    const stored = await getParticipant('gen-hash');

    expect(stored.credentialSalt).toBe(sha256Hex(`gec-credential-salt:${tx.txId}:gen-hash`));
    expect(stored.credentialHash).toBe(sha256Hex(`${stored.credentialSalt}:${CREDIT_CODE}`));
    expect(JSON.stringify(stored)).not.toContain(CREDIT_CODE);
  });

  it('never writes the clear credit code to any block, and writes the participant as canonical JSON', async () => {
    const tx = await register(ids.gridAdmin, generator('gen-block'));
    const stored = await getParticipant('gen-block');
    const block = Buffer.from((await ledger.getBlock(tx.blockNumber)) ?? new Uint8Array());
    expect(block.length).toBeGreaterThan(0);
    expect(block.includes(Buffer.from(canonicalJson(stored), 'utf8'))).toBe(true);

    const { height } = await ledger.getChainInfo();
    for (let n = 0; n < height; n++) {
      const bytes = Buffer.from((await ledger.getBlock(n)) ?? new Uint8Array());
      expect(bytes.includes(Buffer.from(CREDIT_CODE, 'utf8'))).toBe(false);
      expect(bytes.includes(Buffer.from(OTHER_CREDIT_CODE, 'utf8'))).toBe(false);
    }
  });

  it('lets a grid admin register every kind', async () => {
    for (const kind of ['GENERATOR', 'CONSUMER', 'TRADING_CENTER', 'GRID_OPERATOR', 'ISSUER', 'REGULATOR']) {
      const id = `grid-reg-${kind.toLowerCase()}`;
      await register(ids.gridAdmin, { id, kind, name: `${kind} org`, region: '110000' });
      expect((await getParticipant(id)).kind).toBe(kind);
    }
  });

  it('lets a trading-center admin register generators and consumers', async () => {
    await register(ids.tradingAdmin, generator('tc-gen'));
    await register(ids.tradingAdmin, {
      id: 'tc-con',
      kind: 'CONSUMER',
      name: '某制造企业',
      region: '320000',
    });
    expect((await getParticipant('tc-gen')).registeredByMsp).toBe('TradingCenterMSP');
    expect((await getParticipant('tc-con')).kind).toBe('CONSUMER');
  });

  it('refuses a trading-center admin registering another kind (KIND_NOT_PERMITTED)', async () => {
    for (const kind of ['TRADING_CENTER', 'GRID_OPERATOR', 'ISSUER', 'REGULATOR']) {
      const id = `tc-${kind.toLowerCase()}`;
      await expectRefused(
        register(ids.tradingAdmin, { id, kind, name: 'x', region: '110000' }),
        'KIND_NOT_PERMITTED',
        kind,
      );
      await expectNotRegistered(id);
    }
  });

  it("lets the trading center's market system (gec.role trading-center, no admin) register market participants only", async () => {
    await register(ids.tradingClient, generator('by-client'));
    expect((await getParticipant('by-client')).registeredByMsp).toBe('TradingCenterMSP');
    await expectRefused(
      register(ids.tradingClient, {
        id: 'by-client-grid',
        kind: 'GRID_OPERATOR',
        name: 'x',
        region: '110000',
      }),
      'KIND_NOT_PERMITTED',
    );
    await expectNotRegistered('by-client-grid');
  });

  it('refuses the grid platform identity (ROLE_NOT_PERMITTED)', async () => {
    await expectRefused(
      register(ids.gridPlatform, generator('by-platform')),
      'ROLE_NOT_PERMITTED',
      'GridMSP',
    );
    await expectNotRegistered('by-platform');
  });

  it('refuses the regulator, which is read-only (REGULATOR_READ_ONLY)', async () => {
    await expectRefused(register(ids.regulator, generator('by-regulator')), 'REGULATOR_READ_ONLY');
    await expectNotRegistered('by-regulator');
  });

  it('requires the credit code in the transient map (CREDIT_CODE_REQUIRED)', async () => {
    await expectRefused(register(ids.gridAdmin, generator('no-code'), null), 'CREDIT_CODE_REQUIRED');
    await expectRefused(register(ids.gridAdmin, generator('empty-code'), ''), 'CREDIT_CODE_REQUIRED');
    await expectNotRegistered('no-code');
    await expectNotRegistered('empty-code');
  });

  it('refuses a malformed credit code without echoing it (INVALID_ARGUMENT)', async () => {
    for (const code of [
      '91330000MA2CK8RX1',
      '91330000MA2CK8RX1LX',
      '91330000ma2ck8rx1l',
      '9133000OMA2CK8RX1L',
      'IO330000MA2CK8RX1L',
    ]) {
      const message = await expectRefused(
        register(ids.gridAdmin, generator('bad-code'), code),
        'INVALID_ARGUMENT',
        'creditCode',
      );
      expect(message).not.toContain(code);
    }
    await expectNotRegistered('bad-code');
  });

  it('refuses a credit code placed in the arguments, where it would be written to a block (INVALID_ARGUMENT)', async () => {
    await expectRefused(
      register(ids.gridAdmin, generator('code-in-args', { creditCode: OTHER_CREDIT_CODE })),
      'INVALID_ARGUMENT',
      'creditCode',
    );
    await expectNotRegistered('code-in-args');
  });

  it.each([
    ['id', generator('bad id!'), 'id'],
    ['id too long', generator('x'.repeat(65)), 'id'],
    ['missing id', { kind: 'GENERATOR', name: 'n', region: '330000' }, 'id'],
    ['kind', generator('bad-kind', { kind: 'PROSUMER' }), 'kind'],
    ['region not a province', generator('bad-region', { region: '330100' }), 'region'],
    ['region unknown', generator('bad-region2', { region: '990000' }), 'region'],
    ['region not a string', generator('bad-region3', { region: 330000 }), 'region'],
    ['empty name', generator('bad-name', { name: '  ' }), 'name'],
    ['name too long', generator('long-name', { name: '名'.repeat(201) }), 'name'],
  ])('refuses an invalid %s (INVALID_ARGUMENT naming the field)', async (_case, request, field) => {
    const message = await expectRefused(register(ids.gridAdmin, request), 'INVALID_ARGUMENT', field);
    expect(message.startsWith(`INVALID_ARGUMENT: ${field}`)).toBe(true);
    if (typeof request.id === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(request.id)) {
      await expectNotRegistered(request.id);
    }
  });

  it('refuses a request that is not a JSON object (INVALID_ARGUMENT)', async () => {
    await expectRefused(
      submit(ids.gridAdmin, 'RegisterParticipant', ['{not json'], { creditCode: CREDIT_CODE }),
      'INVALID_ARGUMENT',
      'request',
    );
    await expectRefused(
      submit(ids.gridAdmin, 'RegisterParticipant', ['[1]'], { creditCode: CREDIT_CODE }),
      'INVALID_ARGUMENT',
      'request',
    );
  });

  it('refuses a duplicate id and leaves the first registration unchanged (PARTICIPANT_EXISTS)', async () => {
    await register(ids.gridAdmin, generator('dup'));
    const before = await getParticipant('dup');
    await expectRefused(
      register(ids.tradingAdmin, generator('dup', { name: 'someone else' }), OTHER_CREDIT_CODE),
      'PARTICIPANT_EXISTS',
      'dup',
    );
    expect(await getParticipant('dup')).toEqual(before);
  });
});

describe('GetParticipant', () => {
  it('answers every consortium member, the regulator included', async () => {
    await register(ids.gridAdmin, generator('readable'));
    for (const identity of [
      ids.gridAdmin,
      ids.gridPlatform,
      ids.tradingAdmin,
      ids.tradingClient,
      ids.regulator,
    ]) {
      expect((await getParticipant('readable', identity)).id).toBe('readable');
    }
  });

  it('names an unknown participant (PARTICIPANT_NOT_FOUND)', async () => {
    await expectRefused(
      evaluate(ids.regulator, 'GetParticipant', ['nobody']),
      'PARTICIPANT_NOT_FOUND',
      'nobody',
    );
  });

  it('refuses a malformed id (INVALID_ARGUMENT)', async () => {
    await expectRefused(evaluate(ids.gridAdmin, 'GetParticipant', ['a/b']), 'INVALID_ARGUMENT', 'id');
  });
});

describe('VerifyParticipantCredential', () => {
  beforeAll(async () => {
    await register(ids.tradingAdmin, generator('verify-me'));
  });

  const verify = (identity: IdentityRef, code?: string) =>
    evaluate(
      identity,
      'VerifyParticipantCredential',
      ['verify-me'],
      code === undefined ? undefined : { creditCode: code },
    );

  it('confirms the right credit code and rejects another', async () => {
    expect(await verify(ids.gridAdmin, CREDIT_CODE)).toBe('true');
    expect(await verify(ids.tradingAdmin, OTHER_CREDIT_CODE)).toBe('false');
  });

  it('answers the regulator', async () => {
    expect(await verify(ids.regulator, CREDIT_CODE)).toBe('true');
  });

  it('refuses callers without the admin role (ROLE_NOT_PERMITTED)', async () => {
    await expectRefused(verify(ids.tradingClient, CREDIT_CODE), 'ROLE_NOT_PERMITTED');
    await expectRefused(verify(ids.gridPlatform, CREDIT_CODE), 'ROLE_NOT_PERMITTED');
  });

  it('requires the code in the transient map (CREDIT_CODE_REQUIRED)', async () => {
    await expectRefused(verify(ids.gridAdmin), 'CREDIT_CODE_REQUIRED');
  });

  it('names an unknown participant (PARTICIPANT_NOT_FOUND)', async () => {
    await expectRefused(
      evaluate(ids.gridAdmin, 'VerifyParticipantCredential', ['ghost'], { creditCode: CREDIT_CODE }),
      'PARTICIPANT_NOT_FOUND',
    );
  });
});

describe('SetParticipantStatus', () => {
  it('suspends, reactivates and revokes, recording reason, time and transaction', async () => {
    await register(ids.gridAdmin, generator('lifecycle'));
    const registered = await getParticipant('lifecycle');

    const suspend = await setStatus(ids.gridAdmin, {
      id: 'lifecycle',
      status: 'SUSPENDED',
      reason: '计量数据异常',
    });
    expect(suspend.validationCode).toBe('VALID');
    const suspended = await getParticipant('lifecycle');
    expect(suspended).toMatchObject({
      status: 'SUSPENDED',
      statusReason: '计量数据异常',
      updatedTxId: suspend.txId,
    });
    expect(suspended.updatedAt).toMatch(RFC3339_UTC);
    expect(suspended.registeredTxId).toBe(registered.registeredTxId);
    expect(suspended.credentialHash).toBe(registered.credentialHash);

    await setStatus(ids.tradingAdmin, { id: 'lifecycle', status: 'ACTIVE', reason: 'data corrected' });
    expect((await getParticipant('lifecycle')).status).toBe('ACTIVE');

    await setStatus(ids.gridAdmin, { id: 'lifecycle', status: 'REVOKED', reason: 'licence withdrawn' });
    expect(await getParticipant('lifecycle')).toMatchObject({
      status: 'REVOKED',
      statusReason: 'licence withdrawn',
    });
  });

  it('treats REVOKED as final (PARTICIPANT_REVOKED)', async () => {
    await register(ids.gridAdmin, generator('revoked'));
    await setStatus(ids.gridAdmin, { id: 'revoked', status: 'REVOKED', reason: 'fraud' });
    const before = await getParticipant('revoked');
    for (const status of ['ACTIVE', 'SUSPENDED', 'REVOKED']) {
      await expectRefused(
        setStatus(ids.gridAdmin, { id: 'revoked', status, reason: 'retry' }),
        'PARTICIPANT_REVOKED',
      );
    }
    expect(await getParticipant('revoked')).toEqual(before);
  });

  it('refuses setting the current status again (STATUS_UNCHANGED)', async () => {
    await register(ids.gridAdmin, generator('unchanged'));
    const before = await getParticipant('unchanged');
    await expectRefused(
      setStatus(ids.gridAdmin, { id: 'unchanged', status: 'ACTIVE', reason: 'again' }),
      'STATUS_UNCHANGED',
    );
    expect(await getParticipant('unchanged')).toEqual(before);
  });

  it('lets a trading-center admin manage only generators and consumers (KIND_NOT_PERMITTED)', async () => {
    await register(ids.gridAdmin, {
      id: 'issuer-1',
      kind: 'ISSUER',
      name: '国家可再生能源信息管理中心',
      region: '110000',
    });
    const before = await getParticipant('issuer-1');
    await expectRefused(
      setStatus(ids.tradingAdmin, { id: 'issuer-1', status: 'SUSPENDED', reason: 'x' }),
      'KIND_NOT_PERMITTED',
      'ISSUER',
    );
    expect(await getParticipant('issuer-1')).toEqual(before);
  });

  it("refuses the platform's application identity and the regulator (the trading center's market system may)", async () => {
    await register(ids.gridAdmin, generator('guarded'));
    const before = await getParticipant('guarded');
    const request = { id: 'guarded', status: 'SUSPENDED', reason: 'x' };
    await expectRefused(setStatus(ids.gridPlatform, request), 'ROLE_NOT_PERMITTED');
    await expectRefused(setStatus(ids.regulator, request), 'REGULATOR_READ_ONLY');
    expect(await getParticipant('guarded')).toEqual(before);
  });

  it.each([
    ['missing reason', { status: 'SUSPENDED' }, 'reason'],
    ['blank reason', { status: 'SUSPENDED', reason: '   ' }, 'reason'],
    ['reason too long', { status: 'SUSPENDED', reason: 'r'.repeat(257) }, 'reason'],
    ['unknown status', { status: 'PAUSED', reason: 'x' }, 'status'],
    ['unknown field', { status: 'SUSPENDED', reason: 'x', note: 'y' }, 'note'],
  ])('refuses a %s (INVALID_ARGUMENT naming the field)', async (_case, fields, field) => {
    await register(ids.gridAdmin, generator(`invalid-status-${field}-${_case.length}`));
    const id = `invalid-status-${field}-${_case.length}`;
    const before = await getParticipant(id);
    await expectRefused(setStatus(ids.gridAdmin, { id, ...fields }), 'INVALID_ARGUMENT', field);
    expect(await getParticipant(id)).toEqual(before);
  });

  it('names an unknown participant (PARTICIPANT_NOT_FOUND)', async () => {
    await expectRefused(
      setStatus(ids.gridAdmin, { id: 'ghost', status: 'SUSPENDED', reason: 'x' }),
      'PARTICIPANT_NOT_FOUND',
    );
  });
});

describe('ListParticipants', () => {
  const consumerIds = ['list-c-01', 'list-c-02', 'list-c-03', 'list-c-04', 'list-c-05'];

  beforeAll(async () => {
    // Registered out of order: listing follows key order, not registration order.
    for (const id of ['list-c-03', 'list-c-01', 'list-c-05', 'list-c-02', 'list-c-04']) {
      await register(ids.tradingAdmin, { id, kind: 'CONSUMER', name: `${id} 用户`, region: '440000' });
    }
  });

  async function allPages(query: Record<string, unknown>, pageSize: number): Promise<ParticipantPageJson[]> {
    const pages: ParticipantPageJson[] = [];
    let bookmark = '';
    for (;;) {
      const page = await listParticipants({ ...query, pageSize, bookmark }, ids.regulator);
      pages.push(page);
      if (page.items.length < pageSize || page.bookmark === '' || pages.length > 100) return pages;
      bookmark = page.bookmark;
    }
  }

  it('pages through one kind with the bookmark, in id order', async () => {
    const pages = await allPages({ kind: 'CONSUMER' }, 2);
    const listed = pages.flatMap((p) => p.items);

    expect(pages[0].items).toHaveLength(2);
    expect(pages[0].fetchedCount).toBe(2);
    expect(pages[0].bookmark).not.toBe('');
    expect(listed.every((p) => p.kind === 'CONSUMER')).toBe(true);
    const listedIds = listed.map((p) => p.id);
    expect(listedIds).toEqual([...listedIds].sort());
    expect(new Set(listedIds).size).toBe(listedIds.length);
    expect(listedIds).toEqual(expect.arrayContaining(consumerIds));
    expect(listed.find((p) => p.id === 'list-c-03')).toMatchObject({
      name: 'list-c-03 用户',
      status: 'ACTIVE',
    });
  });

  it('lists every participant when no kind is given', async () => {
    const pages = await allPages({}, 7);
    const listedIds = pages.flatMap((p) => p.items.map((i) => i.id));
    expect(listedIds).toEqual([...listedIds].sort());
    expect(listedIds).toEqual(expect.arrayContaining([...consumerIds, 'grid-op-1', 'tc-gen']));
    expect(new Set(pages.flatMap((p) => p.items.map((i) => i.kind))).size).toBeGreaterThan(1);
  });

  it('defaults to 50 per page and accepts an empty query', async () => {
    const page = JSON.parse(
      await evaluate(ids.tradingClient, 'ListParticipants', ['']),
    ) as ParticipantPageJson;
    expect(page.items.length).toBeGreaterThan(0);
    expect(page.items.length).toBeLessThanOrEqual(50);
    expect(page.fetchedCount).toBe(page.items.length);
  });

  it.each([
    [{ pageSize: 0 }, 'pageSize'],
    [{ pageSize: 1001 }, 'pageSize'],
    [{ pageSize: 2.5 }, 'pageSize'],
    [{ kind: 'SELLER' }, 'kind'],
    [{ bookmark: 7 }, 'bookmark'],
    [{ owner: 'x' }, 'owner'],
  ])('refuses %j (INVALID_ARGUMENT naming the field)', async (query, field) => {
    await expectRefused(
      evaluate(ids.gridAdmin, 'ListParticipants', [JSON.stringify(query)]),
      'INVALID_ARGUMENT',
      field,
    );
  });
});

describe('the contract as a whole', () => {
  it('answers an unknown function with INVALID_ARGUMENT naming it', async () => {
    await expectRefused(
      evaluate(ids.gridAdmin, 'DeleteParticipant', ['x']),
      'INVALID_ARGUMENT',
      'DeleteParticipant',
    );
  });

  it('commits only one of two conflicting status changes (MVCC) and changes nothing for the other', async () => {
    await register(ids.gridAdmin, generator('contended'));
    const outcomes = await Promise.allSettled([
      setStatus(ids.gridAdmin, { id: 'contended', status: 'SUSPENDED', reason: 'first' }),
      setStatus(ids.tradingAdmin, { id: 'contended', status: 'REVOKED', reason: 'second' }),
    ]);
    const committed = outcomes.filter((o) => o.status === 'fulfilled');
    const conflicted = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(committed).toHaveLength(1);
    expect(conflicted).toHaveLength(1);
    expect((conflicted[0].reason as { name?: string }).name).toBe('CommitError');
    expect((conflicted[0].reason as { status: { validationCode: string } }).status.validationCode).toBe(
      'MVCC_READ_CONFLICT',
    );
    const winner = outcomes[0].status === 'fulfilled' ? 'SUSPENDED' : 'REVOKED';
    expect((await getParticipant('contended')).status).toBe(winner);
  });

  it('emits exactly one canonical event per valid transaction and none for refused or invalid ones', async () => {
    const marker = await register(ids.gridAdmin, generator('events-marker'));
    const events: Array<{ txId: string; eventName: string; payload: Uint8Array; chaincodeName: string }> = [];
    const stream = ledger.chaincodeEvents({ start: { blockNumber: 0 } });
    try {
      for await (const event of stream) {
        events.push(event);
        if (event.txId === marker.txId) break;
      }
    } finally {
      stream.close();
    }

    const byTx = new Map<string, typeof events>();
    for (const event of events) byTx.set(event.txId, [...(byTx.get(event.txId) ?? []), event]);
    for (const txId of validTxIds) expect(byTx.get(txId)).toHaveLength(1);
    for (const txId of failedTxIds) expect(byTx.has(txId)).toBe(false);

    for (const event of events) {
      expect(event.chaincodeName).toBe('gec');
      expect(['ConsortiumInitialised', 'ParticipantRegistered', 'ParticipantStatusChanged']).toContain(
        event.eventName,
      );
      const text = utf8(event.payload);
      const payload = JSON.parse(text) as Record<string, unknown>;
      expect(text).toBe(canonicalJson(payload));
      if (event.eventName === 'ParticipantRegistered') {
        expect(Object.keys(payload)).toEqual(['participant']);
        expect(JSON.stringify(payload)).not.toContain(CREDIT_CODE);
      } else if (event.eventName === 'ParticipantStatusChanged') {
        expect(Object.keys(payload).sort()).toEqual(['participant', 'previousStatus', 'reason']);
      }
    }

    const markerEvent = byTx.get(marker.txId)![0];
    expect(markerEvent.eventName).toBe('ParticipantRegistered');
    expect(JSON.parse(utf8(markerEvent.payload))).toEqual({ participant: JSON.parse(utf8(marker.result)) });
    const revoked = events.find(
      (e) => e.eventName === 'ParticipantStatusChanged' && utf8(e.payload).includes('"licence withdrawn"'),
    );
    expect(JSON.parse(utf8(revoked!.payload))).toMatchObject({
      previousStatus: 'ACTIVE',
      reason: 'licence withdrawn',
      participant: { id: 'lifecycle', status: 'REVOKED' },
    });
  });
});
