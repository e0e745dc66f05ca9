/**
 * The embedded runtime's savings inside fabric-shim must not change a single answer: argument handling without
 * its debug lines decides exactly as fabric-shim's own DataMarshall does, winston drops only lines it would not
 * have printed, and one proposal check serves both in-process endorsers while every signature is still made
 * and verified.
 */
import { MspVerifier } from '../../src/ledger/embedded/msp';
import { createContractRouter } from '../../src/ledger/embedded/shim';
import { createTestNetwork } from '../../src/ledger/embedded/testing';
import { EndorseError } from '../../src/ledger/port';
import { ProbeContract } from './fixtures/probe-contract';

/* eslint-disable @typescript-eslint/no-require-imports */
const DataMarshall = require('fabric-shim/lib/contract-spi/datamarshall') as {
  prototype: { handleParameters(fn: unknown, parameters: Buffer[], prefix: string): unknown[] };
};
const shimLogging = require('fabric-shim/lib/logger') as { getLogger(name: string): WinstonLike };
/* eslint-enable @typescript-eslint/no-require-imports */

interface WinstonLike {
  level: string;
  format: { transform(info: unknown, options: unknown): unknown };
  debug(message: string): void;
  error(message: string): void;
}

type Outcome = { value: unknown } | { error: string };

function outcome(run: () => unknown[]): Outcome {
  try {
    return { value: run() };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

describe('embedded chaincode runtime', () => {
  it('handles transaction arguments exactly as fabric-shim does, without the debug formatting', () => {
    const router = createContractRouter([ProbeContract], 'probe', '1.0');
    const marshall = router.contractImplementations.probe.dataMarshall as unknown as {
      handleParameters(fn: unknown, parameters: Buffer[], prefix: string): unknown[];
    };
    expect(marshall.handleParameters).not.toBe(DataMarshall.prototype.handleParameters);
    const original = (fn: unknown, args: Buffer[]) => () =>
      DataMarshall.prototype.handleParameters.call(marshall, fn, args, '[c:tx]');
    const quiet = (fn: unknown, args: Buffer[]) => () => marshall.handleParameters(fn, args, '[c:tx]');

    const strings = { name: 'Put', parameters: [{ name: 'key', schema: { type: 'string' } }] };
    const numbers = { name: 'N', parameters: [{ name: 'n', schema: { type: 'number', maximum: 10 } }] };
    const untyped = { name: 'U', parameters: [{ name: 'u', schema: { description: 'no type' } }] };
    const inferred = { name: 'I' };
    const cases: [unknown, Buffer[]][] = [
      [strings, [Buffer.from('k1')]],
      [strings, [Buffer.from('k1'), Buffer.from('extra')]],
      [strings, []],
      [numbers, [Buffer.from('7')]],
      [numbers, [Buffer.from('70')]],
      [numbers, [Buffer.from('"seven"')]],
      [untyped, [Buffer.from('x')]],
      [inferred, [Buffer.from('a'), Buffer.from('b')]],
      [inferred, []],
    ];
    const outcomes = cases.map(([fn, args]) => outcome(quiet(fn, args)));
    expect(outcomes).toEqual(cases.map(([fn, args]) => outcome(original(fn, args))));
    // The cases reach every branch: success, count mismatch, schema and conversion refusals, no type information.
    expect(outcomes.filter((o) => 'error' in o).map((o) => (o as { error: string }).error)).toEqual([
      'Expected 1 parameters, but 2 have been supplied',
      'Expected 1 parameters, but 0 have been supplied',
      'Unable to validate parameter due to ["should be <= 10"]',
      'fromBuffer could not convert data to number',
      'Incorrect type information {"description":"no type"}',
    ]);
  });

  it('drops a winston line below the logger level before formatting it, and formats the others as before', async () => {
    // Winston hands formatted lines to its transports through a stream, a tick later.
    const flushed = () => new Promise((resolve) => setImmediate(resolve));
    const logger = shimLogging.getLogger('shim-runtime.test');
    const formatted = jest.spyOn(logger.format, 'transform');
    const level = logger.level;
    try {
      logger.level = 'error';
      logger.debug(`never formatted ${'x'.repeat(10)}`);
      await flushed();
      expect(formatted).not.toHaveBeenCalled();
      logger.error('formatted and written');
      await flushed();
      expect(formatted).toHaveBeenCalledTimes(1);
      logger.level = 'debug';
      logger.debug('now wanted');
      await flushed();
      expect(formatted).toHaveBeenCalledTimes(2);
    } finally {
      logger.level = level;
      formatted.mockRestore();
    }
  });

  it('checks a proposal once for both endorsing peers, and still verifies every signature at commit', async () => {
    const net = await createTestNetwork({ contracts: [ProbeContract] });
    const verified = jest.spyOn(MspVerifier.prototype, 'verifyAsync');
    try {
      const request = { identity: net.ids.gridAdmin, transaction: 'probe:Put', args: ['k', 'v'] };
      await net.ledger.submit(request);
      // One proposal check; at commit the creator's signature and the two endorsements.
      expect(verified).toHaveBeenCalledTimes(4);
      verified.mockClear();
      // A wrong argument count is the router's refusal, named as fabric-shim names it.
      const refused = await net.ledger.submit({ ...request, args: ['k'] }).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(EndorseError);
      expect((refused as EndorseError).chaincodeMessage).toBe(
        'Expected 2 parameters, but 1 have been supplied',
      );
    } finally {
      verified.mockRestore();
      await net.close();
    }
  });
});
