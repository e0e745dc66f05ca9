/**
 * Rows for `COPY … FROM STDIN (FORMAT binary)`: PostgreSQL takes each value in its binary form, so it parses no
 * timestamp or number text (the text format's most expensive part for a row of a few columns). The stream is a
 * header, rows (a 16-bit field count, then per field a 32-bit length and the bytes, or -1 for NULL) and a
 * trailer (-1). Integers are big-endian; a timestamptz is 64-bit microseconds since 2000-01-01 UTC. Values
 * must be safe integers (exact in a double) — checked, as a wrong 64-bit value would be stored silently.
 */

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);
const TWO_32 = 2 ** 32;

/** The header that opens the data: signature, flags (0), header extension length (0). */
export function binaryCopyHeader(): Buffer {
  const header = Buffer.alloc(SIGNATURE.length + 8);
  SIGNATURE.copy(header, 0);
  return header;
}

/** The trailer that closes the data. */
export function binaryCopyTrailer(): Buffer {
  return Buffer.from([0xff, 0xff]);
}

/** Rows built into one growing buffer, handed over with `take`. */
export class BinaryCopyRows {
  private buffer: Buffer;
  private at = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buffer = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.at;
  }

  /** Start a row of `fields` values. */
  row(fields: number): this {
    this.room(2);
    this.buffer.writeInt16BE(fields, this.at);
    this.at += 2;
    return this;
  }

  /** A text (or varchar) value given as its UTF-8 bytes. */
  text(bytes: Buffer): this {
    this.room(4 + bytes.length);
    this.buffer.writeInt32BE(bytes.length, this.at);
    bytes.copy(this.buffer, this.at + 4);
    this.at += 4 + bytes.length;
    return this;
  }

  int4(value: number): this {
    if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) {
      throw new RangeError(`COPY int4 column got ${value}`);
    }
    this.room(8);
    this.buffer.writeInt32BE(4, this.at);
    this.buffer.writeInt32BE(value, this.at + 4);
    this.at += 8;
    return this;
  }

  int8(value: number): this {
    if (!Number.isSafeInteger(value)) throw new RangeError(`COPY int8 column got ${value}`);
    this.room(12);
    this.buffer.writeInt32BE(8, this.at);
    const high = Math.floor(value / TWO_32);
    this.buffer.writeInt32BE(high, this.at + 4);
    this.buffer.writeUInt32BE(value - high * TWO_32, this.at + 8);
    this.at += 12;
    return this;
  }

  /** A timestamptz from epoch milliseconds (whole milliseconds). */
  timestamptz(ms: number): this {
    return this.int8((ms - PG_EPOCH_MS) * 1000);
  }

  null(): this {
    this.room(4);
    this.buffer.writeInt32BE(-1, this.at);
    this.at += 4;
    return this;
  }

  /** The rows so far, as a buffer of their own; the builder starts empty again. */
  take(): Buffer {
    const rows = Buffer.from(this.buffer.subarray(0, this.at));
    this.at = 0;
    return rows;
  }

  private room(bytes: number): void {
    if (this.at + bytes <= this.buffer.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.at + bytes));
    this.buffer.copy(bigger, 0, 0, this.at);
    this.buffer = bigger;
  }
}
