/**
 * Fabric's block hashes (`protoutil.BlockDataHash` / `protoutil.BlockHeaderHash`, Fabric 2.x).
 *
 * - data hash: SHA-256 over the concatenation of every `BlockData.data` entry;
 * - header hash: SHA-256 of the ASN.1 DER encoding of
 *   `SEQUENCE { INTEGER number, OCTET STRING previousHash, OCTET STRING dataHash }`
 *   (Go's `asn1.Marshal` of `struct { Number *big.Int; PreviousHash, DataHash []byte }`).
 */
import { createHash } from 'node:crypto';
import type { common } from '@hyperledger/fabric-protos';

export interface HeaderFields {
  number: number;
  previousHash: Uint8Array;
  dataHash: Uint8Array;
}

export function computeBlockDataHash(dataEntries: Uint8Array[]): Buffer {
  const hash = createHash('sha256');
  for (const entry of dataEntries) hash.update(entry);
  return hash.digest();
}

/** DER length octets: short form below 128, long form (0x80 | byte count, big-endian) otherwise. */
function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function derTlv(tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

/** Minimal two's-complement content octets of a non-negative integer (a leading 0x00 when the top bit is set). */
function derIntegerContent(value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`block number must be a non-negative safe integer, got ${value}`);
  }
  const bytes: number[] = [];
  let rest = BigInt(value);
  do {
    bytes.unshift(Number(rest & 0xffn));
    rest >>= 8n;
  } while (rest > 0n);
  if (bytes[0] & 0x80) bytes.unshift(0);
  return Buffer.from(bytes);
}

/** The DER bytes Fabric hashes for a block header (`protoutil.BlockHeaderBytes`). */
export function encodeBlockHeaderDer(header: HeaderFields): Buffer {
  return derTlv(
    0x30,
    Buffer.concat([
      derTlv(0x02, derIntegerContent(header.number)),
      derTlv(0x04, header.previousHash),
      derTlv(0x04, header.dataHash),
    ]),
  );
}

export function computeBlockHeaderHash(header: HeaderFields): Buffer {
  return createHash('sha256').update(encodeBlockHeaderDer(header)).digest();
}

/** Header fields of a protobuf block (throws when the block has no header). */
export function headerFieldsOf(block: common.Block): HeaderFields {
  const header = block.getHeader();
  if (!header) throw new Error('block has no header');
  return {
    number: header.getNumber(),
    previousHash: header.getPreviousHash_asU8(),
    dataHash: header.getDataHash_asU8(),
  };
}

/** Header hash of a protobuf block: what the next block's `previous_hash` must hold. */
export function blockHeaderHash(block: common.Block): Buffer {
  return computeBlockHeaderHash(headerFieldsOf(block));
}

/** Data hash recomputed from a protobuf block's data entries. */
export function blockDataHash(block: common.Block): Buffer {
  return computeBlockDataHash(block.getData()?.getDataList_asU8() ?? []);
}
