/**
 * Explicit .NET value types for what a JavaScript value cannot say by itself.
 *
 * Json.NET's BSON writer distinguishes `int` (BSON int32), `long` (int64) and `double`; a JS `number` does not. Plain
 * numbers are written as int32 when they are integers in range and as double otherwise; wrap a value to choose.
 */
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A .NET `int` (BSON int32). */
export class Int32 {
  /** The integer. */
  readonly value: number;
  /** @throws RangeError when `value` is not an integer in int32 range. */
  constructor(value: number) {
    if (!Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
      throw new RangeError(`Int32 needs an integer from ${INT32_MIN} to ${INT32_MAX}, got ${String(value)}`);
    }
    this.value = value;
  }
  /** The integer, so that arithmetic and comparisons work on the wrapper. */
  valueOf(): number {
    return this.value;
  }
  /** The integer, as a JSON number. */
  toJSON(): number {
    return this.value;
  }
  /** The integer in decimal. */
  toString(): string {
    return String(this.value);
  }
}

/** A .NET `long` (BSON int64). Accepts a safe integer or a bigint. */
export class Int64 {
  /** The integer. */
  readonly value: bigint;
  /** @throws RangeError when `value` is a number that is not a safe integer, or is out of int64 range. */
  constructor(value: number | bigint) {
    if (typeof value === 'number' && !Number.isSafeInteger(value)) {
      throw new RangeError(`Int64 from a number needs a safe integer, got ${String(value)}; pass a bigint instead`);
    }
    const big = BigInt(value);
    if (big < INT64_MIN || big > INT64_MAX) throw new RangeError(`Int64 out of range: ${big}`);
    this.value = big;
  }
  /** The value as a number; throws if it cannot be represented exactly. */
  toNumber(): number {
    const n = Number(this.value);
    if (!Number.isSafeInteger(n)) throw new RangeError(`Int64 ${this.value} is not a safe integer`);
    return n;
  }
  /** The integer as a bigint, so that comparisons work on the wrapper. */
  valueOf(): bigint {
    return this.value;
  }
  /** The integer as a decimal string (JSON numbers cannot hold every int64 exactly). */
  toJSON(): string {
    return this.value.toString();
  }
  /** The integer in decimal. */
  toString(): string {
    return this.value.toString();
  }
}

/** A .NET `double` (BSON double), even when the value happens to be a whole number. */
export class Double {
  /** The number. */
  readonly value: number;
  constructor(value: number) {
    this.value = value;
  }
  /** The number, so that arithmetic and comparisons work on the wrapper. */
  valueOf(): number {
    return this.value;
  }
  /** The number, as a JSON number. */
  toJSON(): number {
    return this.value;
  }
  /** The number as JavaScript prints it. */
  toString(): string {
    return String(this.value);
  }
}

const GUID_TEXT = /^\{?([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})\}?$/i;

/**
 * A .NET `Guid`. On the wire it is BSON binary subtype 4 holding `Guid.ToByteArray()`: the first three groups are
 * little-endian, so the bytes differ from the RFC 4122 order most JS UUID tools assume.
 */
export class Guid {
  readonly #bytes: Buffer;
  /** The "D" text, once known (the bytes never change). */
  #text: string | undefined;

  private constructor(dotnetBytes: Buffer, text?: string) {
    this.#bytes = dotnetBytes;
    this.#text = text;
  }

  /** Parses the textual form (`0f8fad5b-d9cb-469f-a165-70867728950e`, braces and case ignored). */
  static parse(text: string): Guid {
    const m = GUID_TEXT.exec(text.trim());
    if (m === null) throw new TypeError(`Not a Guid: '${text}'`);
    const hex = m.slice(1, 6).join('');
    const rfc = Buffer.from(hex, 'hex');
    return new Guid(swapGuidOrder(rfc));
  }

  /** Wraps 16 bytes in .NET `Guid.ToByteArray()` order (as found on the wire). */
  static fromDotnetBytes(bytes: Uint8Array): Guid {
    if (bytes.length !== 16) throw new RangeError(`A Guid has 16 bytes, got ${bytes.length}`);
    return new Guid(Buffer.from(bytes));
  }

  /** A new random (version 4) Guid. */
  static random(): Guid {
    // randomUUID draws from a pooled entropy buffer; randomBytes(16) would make a system call for every Guid. Its
    // text is already the "D" form (lowercase, hyphenated), so it is kept as this Guid's text.
    const text = randomUUID();
    const rfc = Buffer.from(text.slice(0, 8) + text.slice(9, 13) + text.slice(14, 18) + text.slice(19, 23) + text.slice(24), 'hex');
    return new Guid(swapGuidOrder(rfc), text);
  }

  /** A copy of the 16 bytes in .NET order. */
  toDotnetBytes(): Buffer {
    return Buffer.from(this.#bytes);
  }

  /** @internal Writes the bytes without copying. */
  writeTo(target: Buffer, offset: number): void {
    this.#bytes.copy(target, offset);
  }

  /** True when `other` is a Guid with the same bytes. */
  equals(other: Guid): boolean {
    return other instanceof Guid && this.#bytes.equals(other.#bytes);
  }

  /** .NET "D" format: lowercase, hyphenated. */
  toString(): string {
    if (this.#text === undefined) {
      const h = swapGuidOrder(this.#bytes).toString('hex');
      this.#text = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }
    return this.#text;
  }

  /** The "D" text, as for {@link Guid.toString}. */
  toJSON(): string {
    return this.toString();
  }

  /** How `util.inspect` and `console.log` show it: `Guid(…)`. */
  [inspect.custom](): string {
    return `Guid(${this.toString()})`;
  }
}

/** Converts between RFC byte order and .NET byte order (the swap is its own inverse). */
function swapGuidOrder(src: Buffer): Buffer {
  const out = Buffer.from(src);
  out[0] = src[3]!;
  out[1] = src[2]!;
  out[2] = src[1]!;
  out[3] = src[0]!;
  out[4] = src[5]!;
  out[5] = src[4]!;
  out[6] = src[7]!;
  out[7] = src[6]!;
  return out;
}

const TICKS_PER_MS = 10_000n;
const TIMESPAN_TEXT = /^(-)?(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?$/;

/**
 * A .NET `TimeSpan`. Json.NET writes it as a string (`TimeSpan.ToString()`, e.g. `"00:05:00"` or
 * `"1.02:03:04.5000000"`), so on the wire it is indistinguishable from any other string; this class formats and
 * parses that text. Precision is the .NET tick (100 ns).
 */
export class TimeSpan {
  /** Length in 100-nanosecond ticks. */
  readonly ticks: bigint;

  constructor(ticks: bigint) {
    this.ticks = ticks;
  }

  /** A span of `ms` milliseconds (fractions kept to the tick). */
  static fromMilliseconds(ms: number): TimeSpan {
    return new TimeSpan(BigInt(Math.round(ms * 10_000)));
  }

  /** A span of `seconds` seconds (fractions kept to the tick). */
  static fromSeconds(seconds: number): TimeSpan {
    return TimeSpan.fromMilliseconds(seconds * 1000);
  }

  /** Parses `[-][d.]hh:mm:ss[.fffffff]`. */
  static parse(text: string): TimeSpan {
    const m = TIMESPAN_TEXT.exec(text);
    if (m === null) throw new TypeError(`Not a .NET TimeSpan: '${text}'`);
    const [, neg, d, h, min, s, frac] = m;
    const hours = Number(h);
    const minutes = Number(min);
    const seconds = Number(s);
    if (hours > 23 || minutes > 59 || seconds > 59) throw new TypeError(`Not a .NET TimeSpan: '${text}'`);
    const fracTicks = frac === undefined ? 0n : BigInt(frac.padEnd(7, '0'));
    const totalSeconds = BigInt(d ?? 0) * 86400n + BigInt(hours * 3600 + minutes * 60 + seconds);
    const ticks = totalSeconds * 10_000_000n + fracTicks;
    return new TimeSpan(neg === undefined ? ticks : -ticks);
  }

  /** The length in whole milliseconds (truncated toward zero). */
  get milliseconds(): number {
    return Number(this.ticks / TICKS_PER_MS);
  }

  /** The constant ("c") format .NET uses in `TimeSpan.ToString()`. */
  toString(): string {
    const negative = this.ticks < 0n;
    let rest = negative ? -this.ticks : this.ticks;
    const frac = rest % 10_000_000n;
    rest /= 10_000_000n;
    const seconds = rest % 60n;
    rest /= 60n;
    const minutes = rest % 60n;
    rest /= 60n;
    const hours = rest % 24n;
    const days = rest / 24n;
    const two = (v: bigint): string => v.toString().padStart(2, '0');
    let text = `${two(hours)}:${two(minutes)}:${two(seconds)}`;
    if (days > 0n) text = `${days}.${text}`;
    if (frac > 0n) text += `.${frac.toString().padStart(7, '0')}`;
    return negative ? `-${text}` : text;
  }

  /** The .NET text, as for {@link TimeSpan.toString}. */
  toJSON(): string {
    return this.toString();
  }
}

/** BSON binary data with a subtype other than 0 (bytes) or 4 (Guid). */
export class Binary {
  constructor(
    /** The BSON binary subtype (0–255). */
    readonly subtype: number,
    /** The data. */
    readonly bytes: Buffer,
  ) {}
}

/**
 * Builds a `$type`-tagged object, the way Json.NET marks the runtime type of a value in a slot declared `object`
 * (every element of `params`, and `result`). The type name is `"Namespace.Type, Assembly"`.
 */
export function dotnetObject<T extends Record<string, unknown>>(
  typeName: string,
  properties: T,
): T & {
  /** The .NET type name, written first. */
  $type: string;
} {
  return { $type: typeName, ...properties };
}
