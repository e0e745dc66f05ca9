import { copyTextField } from '../database/copy-text';
import { periodEndMs, periodOf, periodStartMs } from './months';

/** Lines a request keeps in memory (about 20 bytes each) to decide its path after the body has ended. */
export const KEPT_LINES_MAX = 1_000_000;
/** Meters a request follows one by one (their order, months and totals); beyond, it takes the general path. */
export const TRACKED_METERS_MAX = 100_000;
const INITIAL_CAPACITY = 256;

/** The readings of one meter in one month of a request, while the meter's intervals increase. */
export interface MonthShare {
  period: string;
  fromMs: number;
  toMs: number;
  count: number;
  /** Sum of the Wh (exact while it is a safe integer; checked before use). */
  wh: number;
}

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const r = a % b;
    a = b;
    b = r;
  }
  return a;
}

/** The lines of one meter in a request, in body order, as columns; and what the ingestion needs to know of them. */
export class MeterLines {
  /** The meter id as a COPY text field, and as the UTF-8 bytes of a binary COPY. */
  readonly copyId: string;
  readonly idBytes: Buffer;
  count = 0;
  lines = new Uint32Array(INITIAL_CAPACITY);
  /** Interval starts, epoch seconds (whole minutes). */
  starts = new Float64Array(INITIAL_CAPACITY);
  whs = new Float64Array(INITIAL_CAPACITY);
  /** Every interval start later than the one before: no interval comes twice. */
  increasing = true;
  firstSeconds = Number.POSITIVE_INFINITY;
  lastSeconds = Number.NEGATIVE_INFINITY;
  minSeconds = Number.POSITIVE_INFINITY;
  maxSeconds = Number.NEGATIVE_INFINITY;
  /** Greatest common divisor of the interval starts (s): every start is on an n-minute grid iff n·60 divides it. */
  gcdSeconds = 0;
  /** Months in order, while the starts increase. */
  readonly months: MonthShare[] = [];

  constructor(readonly meterId: string) {
    this.copyId = copyTextField(meterId);
    this.idBytes = Buffer.from(meterId, 'utf8');
  }

  /** Follow one reading; keep its columns when `keep`. Answers whether its month is new for this meter. */
  add(line: number, startMs: number, wh: number, keep: boolean): MonthShare | undefined {
    const seconds = startMs / 1000;
    if (seconds <= this.lastSeconds) this.increasing = false;
    this.lastSeconds = seconds;
    if (seconds < this.minSeconds) this.minSeconds = seconds;
    if (seconds > this.maxSeconds) this.maxSeconds = seconds;
    if (this.gcdSeconds === 0 || seconds % this.gcdSeconds !== 0)
      this.gcdSeconds = gcd(seconds, this.gcdSeconds);
    let opened: MonthShare | undefined;
    if (this.increasing) {
      let month = this.months[this.months.length - 1];
      if (month === undefined || startMs >= month.toMs) {
        const period = periodOf(startMs);
        month = { period, fromMs: periodStartMs(period), toMs: periodEndMs(period), count: 0, wh: 0 };
        this.months.push(month);
        opened = month;
      }
      month.count += 1;
      month.wh += wh;
    }
    if (keep) {
      if (this.count === this.lines.length) this.grow();
      this.lines[this.count] = line;
      this.starts[this.count] = seconds;
      this.whs[this.count] = wh;
      this.count += 1;
    }
    return opened;
  }

  private grow(): void {
    const size = this.lines.length * 2;
    const lines = new Uint32Array(size);
    lines.set(this.lines);
    const starts = new Float64Array(size);
    starts.set(this.starts);
    const whs = new Float64Array(size);
    whs.set(this.whs);
    this.lines = lines;
    this.starts = starts;
    this.whs = whs;
  }

  /**
   * How many of the kept lines are stored with the same value, given the stored readings of the meter over the
   * request's range (starts in epoch seconds and Wh, in the same order, any order between them). The starts
   * increase (only then is this asked), so each stored start is found by a walk that is usually one step.
   */
  unchangedCount(storedStarts: number[], storedWh: number[]): number {
    let same = 0;
    let at = 0;
    for (let i = 0; i < storedStarts.length; i++) {
      const start = storedStarts[i];
      if (this.starts[at] !== start) at = this.indexOf(start);
      if (at < 0) {
        at = 0;
        continue;
      }
      if (this.whs[at] === storedWh[i]) same += 1;
      at = at + 1 < this.count ? at + 1 : 0;
    }
    return same;
  }

  private indexOf(start: number): number {
    let lo = 0;
    let hi = this.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const value = this.starts[mid];
      if (value === start) return mid;
      if (value < start) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}

/**
 * What a request's body held, followed line by line while it streams: per meter its lines (kept as columns up
 * to KEPT_LINES_MAX in all), whether its intervals increase, its grid and range, its months and their totals;
 * and, across meters, the months and the time range. The ingestion decides its path from this once the body
 * has ended (see ReadingsIngestionService).
 */
export class RequestReadings {
  readonly meters = new Map<string, MeterLines>();
  /** Every month of the request's readings. */
  readonly periods = new Set<string>();
  minMs = Number.POSITIVE_INFINITY;
  maxMs = Number.NEGATIVE_INFINITY;
  /** Readings followed. */
  count = 0;
  /** True while every reading so far is kept (the request can be staged from memory). */
  keeping = true;
  /** True when more meters came than are followed, or when some meter's intervals did not increase. */
  mayRepeat = false;
  private last: MeterLines | undefined;

  /**
   * Follow one reading: answers its meter's lines (undefined once more meters came than are followed) and
   * whether the reading opened a month new to its meter (the caller checks the month's partition then).
   */
  add(
    line: number,
    meterId: string,
    startMs: number,
    wh: number,
  ): { meter?: MeterLines; opened?: MonthShare } {
    this.count += 1;
    if (this.keeping && this.count > KEPT_LINES_MAX) this.keeping = false;
    if (startMs < this.minMs) this.minMs = startMs;
    if (startMs > this.maxMs) this.maxMs = startMs;
    let meter = this.last;
    if (meter === undefined || meter.meterId !== meterId) {
      meter = this.meters.get(meterId);
      if (meter === undefined) {
        if (this.meters.size >= TRACKED_METERS_MAX) {
          this.keeping = false;
          this.mayRepeat = true;
          this.periods.add(periodOf(startMs));
          return {};
        }
        meter = new MeterLines(meterId);
        this.meters.set(meterId, meter);
      }
      this.last = meter;
    }
    const wasIncreasing = meter.increasing;
    const opened = meter.add(line, startMs, wh, this.keeping);
    if (!meter.increasing) {
      this.mayRepeat = true;
      // Months are followed per meter only while its intervals increase.
      this.periods.add(periodOf(startMs));
      if (wasIncreasing) for (const month of meter.months) this.periods.add(month.period);
    } else if (opened) {
      this.periods.add(opened.period);
    }
    return { meter, opened };
  }

  /** The kept lines as rows of the staging table (line, meter, start s, Wh, period), in chunks of COPY text. */
  *stagingRows(chunkRows: number): Generator<Buffer> {
    let text = '';
    let rows = 0;
    for (const meter of this.meters.values()) {
      for (let i = 0; i < meter.count; i++) {
        const seconds = meter.starts[i];
        text +=
          `${meter.lines[i]}\t${meter.copyId}\t${seconds}\t${meter.whs[i]}\t` +
          `${copyTextField(periodOf(seconds * 1000))}\n`;
        if (++rows >= chunkRows) {
          yield Buffer.from(text, 'utf8');
          text = '';
          rows = 0;
        }
      }
    }
    if (rows > 0) yield Buffer.from(text, 'utf8');
  }
}
