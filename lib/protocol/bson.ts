/**
 * A BSON reader and writer faithful to what Json.NET's `BsonDataWriter`/`BsonDataReader` put on the wire.
 *
 * Written here rather than taken from a BSON package because fidelity needs control over exactly the things generic
 * libraries decide for you: which numeric element a JS number becomes, `$type` written first whatever the key order,
 * Guids as subtype 4 in .NET byte order, and a hard bound on nesting depth while decoding untrusted input.
 */
import { isAscii } from 'node:buffer';
import { Binary, Double, Guid, Int32, Int64, TimeSpan } from './dotnet-values.js';
import { MessageFormatError, MessageTooLargeError } from './errors.js';

/** BSON element type bytes. */
const T = {
  Double: 0x01,
  String: 0x02,
  Document: 0x03,
  Array: 0x04,
  Binary: 0x05,
  Undefined: 0x06,
  ObjectId: 0x07,
  Boolean: 0x08,
  DateTime: 0x09,
  Null: 0x0a,
  Int32: 0x10,
  Int64: 0x12,
} as const;

/** Json.NET's default maximum depth. */
export const DEFAULT_MAX_DEPTH = 64;

/** What a writer replacer may substitute for a value before it is encoded. */
export type BsonReplacer = (value: object, topLevelSlot: boolean) => unknown;

export interface BsonEncodeOptions {
  /**
   * Called for every object that is not a plain object, array or known value type, and for every plain object.
   * Returning `undefined` keeps the value; anything else is encoded in its place. `topLevelSlot` is true for the
   * slots Json.NET declares `object` (the values the caller marks with {@link topLevel}).
   */
  replacer?: BsonReplacer;
}

/** A value in a slot declared `object`; see {@link topLevel}. */
class TopLevel {
  // Private, so that the wrapper itself has no properties to encode (as the symbol-keyed object it replaces).
  readonly #value: unknown;
  constructor(value: unknown) {
    this.#value = value;
  }
  get value(): unknown {
    return this.#value;
  }
}

/** @internal A document already encoded (complete BSON bytes, as {@link encodeBson} gives them), written as it stands. */
export class EncodedDocument {
  constructor(readonly bytes: Buffer) {}
}

/** Marks a value as sitting in a slot declared `object` (Json.NET then tags objects in it with `$type`). */
export function topLevel(value: unknown): unknown {
  return new TopLevel(value);
}

class Writer {
  buf: Buffer;
  pos = 0;
  constructor(initial: number) {
    this.buf = Buffer.allocUnsafe(initial);
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }
  int32(v: number): void {
    this.ensure(4);
    this.buf.writeInt32LE(v, this.pos);
    this.pos += 4;
  }
  /**
   * Copies a short ASCII string byte for byte at `at` (cheaper than a call into the UTF-8 encoder); returns false,
   * having written nothing that counts, when the string is long or not ASCII. Stops at a NUL for the caller to judge.
   */
  #ascii(s: string, at: number): boolean {
    const n = s.length;
    if (n > SHORT_STRING) return false;
    this.ensure(at - this.pos + n + 1);
    const buf = this.buf;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80 || c === 0) return false;
      buf[at + i] = c;
    }
    return true;
  }
  cstring(s: string): void {
    if (this.#ascii(s, this.pos)) {
      this.pos += s.length;
      this.buf[this.pos++] = 0;
      return;
    }
    if (s.includes('\0')) throw new TypeError(`A BSON key cannot contain a NUL character: ${JSON.stringify(s)}`);
    const len = Buffer.byteLength(s, 'utf8');
    this.ensure(len + 1);
    this.buf.write(s, this.pos, 'utf8');
    this.pos += len;
    this.buf[this.pos++] = 0;
  }
  string(s: string): void {
    this.ensure(4);
    if (this.#ascii(s, this.pos + 4)) {
      const len = s.length;
      this.buf.writeInt32LE(len + 1, this.pos);
      this.pos += len + 4;
      this.buf[this.pos++] = 0;
      return;
    }
    const len = Buffer.byteLength(s, 'utf8');
    this.ensure(len + 5);
    this.buf.writeInt32LE(len + 1, this.pos);
    this.buf.write(s, this.pos + 4, 'utf8');
    this.pos += len + 4;
    this.buf[this.pos++] = 0;
  }
}

/** Strings up to this length are checked for ASCII and copied in JavaScript. */
const SHORT_STRING = 32;

/** Encodes a root document. `$type`, where present, is always written first. */
export function encodeBson(root: Record<string, unknown> | Map<string, unknown>, options: BsonEncodeOptions = {}): Buffer {
  const w = new Writer(1024);
  writeDocument(w, root, options, 0);
  return w.buf.subarray(0, w.pos);
}

function entriesOf(doc: Record<string, unknown> | Map<string, unknown>): Array<[string, unknown]> {
  const entries = doc instanceof Map ? [...doc.entries()] : Object.entries(doc);
  const typeIndex = entries.findIndex(([k]) => k === '$type');
  if (typeIndex > 0) entries.unshift(...entries.splice(typeIndex, 1));
  return entries;
}

function writeDocument(w: Writer, doc: Record<string, unknown> | Map<string, unknown>, o: BsonEncodeOptions, depth: number): void {
  if (depth > 512) throw new RangeError('Value nested too deeply to encode (a cycle?)');
  const start = w.pos;
  w.int32(0);
  if (doc instanceof Map) {
    for (const [key, raw] of entriesOf(doc)) writeMember(w, key, raw, o, depth);
  } else {
    // The order of entriesOf without building the entries: `$type` first, then the rest in key order.
    const keys = Object.keys(doc);
    const typeIndex = keys.indexOf('$type');
    if (typeIndex > 0) writeMember(w, '$type', doc['$type'], o, depth);
    for (let i = 0; i < keys.length; i++) {
      if (i === typeIndex && typeIndex > 0) continue;
      const key = keys[i]!;
      writeMember(w, key, doc[key], o, depth);
    }
  }
  w.byte(0);
  w.buf.writeInt32LE(w.pos - start, start);
}

function writeMember(w: Writer, key: string, raw: unknown, o: BsonEncodeOptions, depth: number): void {
  if (raw === undefined || typeof raw === 'function' || typeof raw === 'symbol') return;
  writeElement(w, key, raw, o, depth);
}

function writeArray(w: Writer, items: readonly unknown[], o: BsonEncodeOptions, depth: number): void {
  if (depth > 512) throw new RangeError('Value nested too deeply to encode (a cycle?)');
  const start = w.pos;
  w.int32(0);
  for (let i = 0; i < items.length; i++) writeElement(w, indexKey(i), items[i] ?? null, o, depth);
  w.byte(0);
  w.buf.writeInt32LE(w.pos - start, start);
}

/** Array element names ("0", "1", …), made once. */
const indexKeys: string[] = [];

function indexKey(i: number): string {
  if (i >= 4096) return String(i);
  return (indexKeys[i] ??= String(i));
}

function writeElement(w: Writer, key: string, input: unknown, o: BsonEncodeOptions, depth: number): void {
  let value = input;
  if (typeof value === 'object' && value !== null) {
    let top = false;
    if (value instanceof TopLevel) {
      value = value.value;
      top = true;
    }
    if (o.replacer !== undefined && typeof value === 'object' && value !== null) {
      const replaced = o.replacer(value, top);
      if (replaced !== undefined) value = replaced;
    }
  }
  if (value === null || value === undefined) {
    w.byte(T.Null);
    w.cstring(key);
    return;
  }
  switch (typeof value) {
    case 'string':
      w.byte(T.String);
      w.cstring(key);
      w.string(value);
      return;
    case 'boolean':
      w.byte(T.Boolean);
      w.cstring(key);
      w.byte(value ? 1 : 0);
      return;
    case 'number':
      if (Number.isInteger(value) && value >= -2147483648 && value <= 2147483647 && !Object.is(value, -0)) {
        w.byte(T.Int32);
        w.cstring(key);
        w.int32(value);
      } else {
        writeDouble(w, key, value);
      }
      return;
    case 'bigint':
      writeInt64(w, key, new Int64(value).value);
      return;
    default:
      break;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    // A plain object is none of the classes below.
    w.byte(T.Document);
    w.cstring(key);
    writeDocument(w, value as Record<string, unknown>, o, depth + 1);
    return;
  }
  if (proto === Date.prototype) {
    // Likewise a plain Date, which would otherwise be tested against every class before it.
    writeDate(w, key, value as Date);
    return;
  }
  if (value instanceof Int32) {
    w.byte(T.Int32);
    w.cstring(key);
    w.int32(value.value);
  } else if (value instanceof Int64) {
    writeInt64(w, key, value.value);
  } else if (value instanceof Double) {
    writeDouble(w, key, value.value);
  } else if (value instanceof Guid) {
    w.byte(T.Binary);
    w.cstring(key);
    w.int32(16);
    w.byte(4);
    w.ensure(16);
    value.writeTo(w.buf, w.pos);
    w.pos += 16;
  } else if (value instanceof Binary) {
    writeBinary(w, key, value.subtype, value.bytes);
  } else if (value instanceof Uint8Array) {
    writeBinary(w, key, 0, value);
  } else if (value instanceof Date) {
    writeDate(w, key, value);
  } else if (value instanceof TimeSpan) {
    w.byte(T.String);
    w.cstring(key);
    w.string(value.toString());
  } else if (value instanceof EncodedDocument) {
    w.byte(T.Document);
    w.cstring(key);
    w.ensure(value.bytes.length);
    w.buf.set(value.bytes, w.pos);
    w.pos += value.bytes.length;
  } else if (Array.isArray(value)) {
    w.byte(T.Array);
    w.cstring(key);
    writeArray(w, value, o, depth + 1);
  } else if (value instanceof Map) {
    w.byte(T.Document);
    w.cstring(key);
    writeDocument(w, value as Map<string, unknown>, o, depth + 1);
  } else if (typeof value === 'object') {
    w.byte(T.Document);
    w.cstring(key);
    writeDocument(w, value as Record<string, unknown>, o, depth + 1);
  } else {
    throw new TypeError(`Cannot encode a value of type ${typeof value} at '${key}'`);
  }
}

function writeDate(w: Writer, key: string, value: Date): void {
  const ms = value.getTime();
  if (Number.isNaN(ms)) throw new RangeError(`Cannot encode an invalid Date at '${key}'`);
  w.byte(T.DateTime);
  w.cstring(key);
  w.ensure(8);
  writeWholeInt64(w.buf, w.pos, ms);
  w.pos += 8;
}

/** Writes a safe integer as int64 LE (what `writeBigInt64LE(BigInt(n))` writes, without the BigInt). */
function writeWholeInt64(buf: Buffer, at: number, n: number): void {
  buf.writeUInt32LE(n >>> 0, at);
  buf.writeInt32LE(Math.floor(n / 2 ** 32), at + 4);
}

/** Reads an int64 LE as the nearest number (what `Number(readBigInt64LE())` gives, without the BigInt). */
function readInt64AsNumber(buf: Buffer, at: number): number {
  return buf.readInt32LE(at + 4) * 2 ** 32 + buf.readUInt32LE(at);
}

function writeDouble(w: Writer, key: string, v: number): void {
  w.byte(T.Double);
  w.cstring(key);
  w.ensure(8);
  w.buf.writeDoubleLE(v, w.pos);
  w.pos += 8;
}

function writeInt64(w: Writer, key: string, v: bigint): void {
  w.byte(T.Int64);
  w.cstring(key);
  w.ensure(8);
  w.buf.writeBigInt64LE(v, w.pos);
  w.pos += 8;
}

function writeBinary(w: Writer, key: string, subtype: number, bytes: Uint8Array): void {
  w.byte(T.Binary);
  w.cstring(key);
  w.int32(bytes.length);
  w.byte(subtype);
  w.ensure(bytes.length);
  w.buf.set(bytes, w.pos);
  w.pos += bytes.length;
}

/** Default bound on the elements of one document, at every depth, documents and arrays included. */
export const DEFAULT_MAX_ELEMENTS = 2_000_000;
/** Default bound on the memory a decoded document may take, as {@link BsonDecodeOptions.maxDecodedBytes} estimates it. */
export const DEFAULT_MAX_DECODED_BYTES = 64 * 1024 * 1024;

export interface BsonDecodeOptions {
  /** Maximum nesting of documents and arrays. Default {@link DEFAULT_MAX_DEPTH}. */
  maxDepth?: number | undefined;
  /** Maximum number of elements, at every depth, documents and arrays included. Default {@link DEFAULT_MAX_ELEMENTS}. */
  maxElements?: number | undefined;
  /**
   * Maximum memory the decoded values may take, in bytes, as estimated element by element before each is made (from
   * what V8 and Buffers cost on 64-bit Node, rounded up). Default {@link DEFAULT_MAX_DECODED_BYTES}.
   */
  maxDecodedBytes?: number | undefined;
  /**
   * `plain` (default): int32 and double become numbers; int64 becomes a number when it is a safe integer and a
   * bigint otherwise. `preserve`: keep {@link Int32}, {@link Int64} and {@link Double} wrappers, so that encoding the
   * result gives back the same bytes.
   */
  numbers?: 'plain' | 'preserve';
}

/** Decodes one BSON document that must fill `buf` exactly, on the spot (see {@link decodeInSlices} for large ones). */
export function decodeBson(buf: Buffer, options: BsonDecodeOptions = {}): Record<string, unknown> {
  const decoder = new BsonDecoder(buf, options);
  decoder.run(Infinity);
  return decoder.result;
}

/** How long one slice of a sliced decode may hold the event loop. */
const SLICE_MS = 10;

/**
 * @internal Runs a decoder to the end in slices of about {@link SLICE_MS}, yielding to the event loop between them,
 * so that a large document never holds it for long. A small document is done in the first slice, with no yield.
 */
export async function decodeInSlices(decoder: BsonDecoder): Promise<Record<string, unknown>> {
  while (!decoder.run(performance.now() + SLICE_MS)) await new Promise<void>((resolve) => setImmediate(resolve));
  return decoder.result;
}

/** @internal What a caller may do as documents close: the message decoder finds DataStreams and unwraps collections. */
export interface DecodeHooks {
  /**
   * Whether to watch a document or array that opens under `key` at `depth` (the root is at depth 1): a tag for it
   * and everything inside it, or undefined. Asked only outside watched documents.
   */
  watch(key: string, depth: number): string | undefined;
  /** A watched document or array has closed (its contents first); returns what to store in its place. */
  closed(value: Record<string, unknown> | unknown[], container: Record<string, unknown> | unknown[], key: string | number, tag: string): unknown;
}

/**
 * What decoded values cost, in bytes of V8 heap and Buffer memory, measured on Node 20 (64-bit) and rounded up. Every
 * element pays for its slot in its document or array, then for what its value adds.
 */
const COST = {
  slot: 16,
  /** A property name that is not one of the recent names shared between documents: the string and its entry. */
  newKey: 56,
  /**
   * Each member of a document past its {@link LARGE_DOCUMENT}th: V8 keeps such an object as a dictionary, which grows
   * by doubling and rehashing every entry at once, and interns every new name.
   */
  largeDocumentMember: 1024,
  document: 64,
  array: 48,
  /** A double (a heap number), and the Int32/Int64/Double wrappers and bigints. */
  boxed: 32,
  date: 128,
  /** A Buffer's own object (plus its length); a Guid is a Buffer in an object. */
  buffer: 208,
  guid: 208,
  binary: 240,
  /** A string's header (plus one byte per character, or two when it is not all Latin-1). */
  string: 16,
} as const;

/** Members a document may have before each further one costs {@link COST.largeDocumentMember} more. */
const LARGE_DOCUMENT = 1024;

/** The memory behind every empty Buffer decoded: `Buffer.from` of nothing would make a new one each time. */
const NO_BYTES = new ArrayBuffer(0);

/** Strings at least this long are checked for ASCII before they are made, so their cost is known in advance. */
const CHECKED_STRING = 1024;

/** A document or array being decoded. */
interface Frame {
  /** Members so far (documents only). */
  members: number;
  readonly out: Record<string, unknown> | unknown[];
  readonly isArray: boolean;
  /** Offset of its closing NUL. */
  readonly end: number;
  readonly depth: number;
  /** Its name in the enclosing document ('' in an array). */
  readonly key: string;
  readonly tag: string | undefined;
}

/** Element names of up to this many bytes are looked up in the cache. */
const MAX_CACHED_KEY = 32;
const KEY_CACHE_SIZE = 512;
/** Recently decoded short ASCII element names, by a hash of their bytes. */
const keyCache: Array<string | undefined> = new Array<string | undefined>(KEY_CACHE_SIZE).fill(undefined);

/**
 * @internal A BSON decoder that can stop between elements and resume, with every bound checked before the value it
 * guards is made. Iterative (an explicit stack of open documents), so that it can stop anywhere.
 */
export class BsonDecoder {
  readonly #buf: Buffer;
  readonly #maxDepth: number;
  readonly #maxElements: number;
  readonly #maxBytes: number;
  readonly #preserve: boolean;
  readonly #hooks: DecodeHooks | undefined;
  readonly #stack: Frame[] = [];
  #pos: number;
  #elements = 0;
  #bytes = 0;
  #root: Record<string, unknown> | undefined;
  /** What the last name read by {@link key} costs (0 when it came from the cache), and where it ends (its NUL). */
  #keyCost = 0;
  #keyEnd = 0;

  constructor(buf: Buffer, options: BsonDecodeOptions = {}, hooks?: DecodeHooks) {
    this.#buf = buf;
    this.#maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.#maxElements = options.maxElements ?? DEFAULT_MAX_ELEMENTS;
    this.#maxBytes = options.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES;
    this.#preserve = options.numbers === 'preserve';
    this.#hooks = hooks;
    if (buf.length < 5) throw new MessageFormatError(`BSON document too short (${buf.length} bytes)`);
    const declared = buf.readInt32LE(0);
    if (declared !== buf.length) {
      throw new MessageFormatError(`BSON document declares ${declared} bytes but ${buf.length} were received`);
    }
    this.#pos = this.#open(0, buf.length, 1, false, '', undefined);
  }

  /** The decoded document, once {@link run} has returned true. */
  get result(): Record<string, unknown> {
    if (this.#root === undefined) throw new Error('The document is not decoded yet');
    return this.#root;
  }

  #fail(message: string, at: number): never {
    throw new MessageFormatError(`Malformed BSON at offset ${at}: ${message}`);
  }

  #tooMany(): never {
    throw new MessageTooLargeError(`The message has more than ${this.#maxElements} elements (maxElements)`, this.#maxElements, 'maxElements');
  }

  #tooBig(): never {
    throw new MessageTooLargeError(
      `The decoded message would take more than ${this.#maxBytes} bytes of memory (maxDecodedBytes)`,
      this.#maxBytes,
      'maxDecodedBytes',
    );
  }

  /** Checks and opens the document or array at `start`, which must end by `containerEnd`; returns where its elements start. */
  #open(start: number, containerEnd: number, depth: number, isArray: boolean, key: string, parentTag: string | undefined): number {
    if (depth > this.#maxDepth) {
      throw new MessageTooLargeError(`BSON nesting deeper than the limit of ${this.#maxDepth} levels (maxDepth)`, this.#maxDepth, 'maxDepth');
    }
    const buf = this.#buf;
    if (start + 5 > containerEnd) this.#fail('document header runs past its container', start);
    const length = buf.readInt32LE(start);
    if (length < 5 || start + length > containerEnd) this.#fail(`document length ${length} does not fit its container`, start);
    const end = start + length - 1;
    if (buf[end] !== 0) this.#fail('document does not end with a NUL byte', end);
    const tag = parentTag ?? (this.#hooks !== undefined && depth > 1 ? this.#hooks.watch(key, depth) : undefined);
    this.#stack.push({ members: 0, out: isArray ? [] : {}, isArray, end, depth, key, tag });
    return start + 4;
  }

  /**
   * Decodes until the document is complete (true) or `deadline` (a `performance.now()` time) has passed (false; call
   * again to go on). Throws the typed error of the first bound or format rule broken.
   */
  run(deadline: number): boolean {
    if (this.#root !== undefined) return true;
    const buf = this.#buf;
    const preserve = this.#preserve;
    const maxElements = this.#maxElements;
    const maxBytes = this.#maxBytes;
    const stack = this.#stack;
    let frame = stack[stack.length - 1]!;
    let pos = this.#pos;
    let elements = this.#elements;
    let bytes = this.#bytes;
    let sinceCheck = 0;
    for (;;) {
      const docEnd = frame.end;
      if (pos >= docEnd) {
        stack.pop();
        const parent = stack[stack.length - 1];
        if (parent === undefined) {
          this.#root = frame.out as Record<string, unknown>;
          return true;
        }
        let value: unknown = frame.out;
        const container = parent.out;
        if (frame.tag !== undefined) {
          value = this.#hooks!.closed(frame.out, container, parent.isArray ? (container as unknown[]).length : frame.key, frame.tag);
        }
        if (parent.isArray) (container as unknown[]).push(value);
        else setMember(container as Record<string, unknown>, frame.key, value);
        pos = docEnd + 1;
        frame = parent;
        continue;
      }
      if (++sinceCheck === 1024) {
        sinceCheck = 0;
        if (performance.now() > deadline) {
          this.#pos = pos;
          this.#elements = elements;
          this.#bytes = bytes;
          return false;
        }
      }
      if (++elements > maxElements) this.#tooMany();
      const type = buf[pos]!;
      const keyStart = pos + 1;
      const isArray = frame.isArray;
      // Array element names are not kept, so they are not decoded (an error message decodes its own).
      const key = this.#key(keyStart, docEnd, isArray);
      const keyEnd = this.#keyEnd;
      bytes += COST.slot + this.#keyCost;
      if (!isArray && ++frame.members > LARGE_DOCUMENT) bytes += COST.largeDocumentMember;
      pos = keyEnd + 1;
      let value: unknown;
      switch (type) {
        case T.Double: {
          this.#need(pos, 8, docEnd);
          const v = buf.readDoubleLE(pos);
          value = preserve ? new Double(v) : v;
          bytes += COST.boxed;
          pos += 8;
          break;
        }
        case T.String: {
          this.#need(pos, 4, docEnd);
          const len = buf.readInt32LE(pos);
          if (len < 1 || pos + 4 + len > docEnd) this.#fail(`string length ${len} does not fit`, pos);
          const start = pos + 4;
          const n = len - 1;
          if (buf[start + n] !== 0) this.#fail('string is not NUL-terminated', pos);
          // Charged before the string is made: one byte per byte of UTF-8 for ASCII, two for anything else (V8 keeps
          // a string with any character past Latin-1 at two bytes a character).
          const guess = n >= CHECKED_STRING && !isAscii(buf.subarray(start, start + n)) ? 2 * n : n;
          bytes += COST.string + guess;
          if (bytes > maxBytes) this.#tooBig();
          const s = buf.toString('utf8', start, start + n);
          bytes += (s.length === n ? n : 2 * s.length) - guess;
          value = s;
          pos = start + len;
          break;
        }
        case T.Document:
        case T.Array: {
          this.#need(pos, 4, docEnd);
          bytes += type === T.Array ? COST.array : COST.document;
          if (bytes > maxBytes) this.#tooBig();
          pos = this.#open(pos, docEnd, frame.depth + 1, type === T.Array, key, frame.tag);
          frame = stack[stack.length - 1]!;
          continue;
        }
        case T.Binary: {
          this.#need(pos, 5, docEnd);
          const len = buf.readInt32LE(pos);
          const subtype = buf[pos + 4]!;
          if (len < 0 || pos + 5 + len > docEnd) this.#fail(`binary length ${len} does not fit`, pos);
          // Json.NET reads any 16-byte subtype-4 binary as a Guid; mirror that.
          const guid = (subtype === 4 || subtype === 3) && len === 16;
          bytes += guid ? COST.guid : (subtype === 0 ? COST.buffer : COST.binary) + len;
          if (bytes > maxBytes) this.#tooBig();
          const raw = buf.subarray(pos + 5, pos + 5 + len);
          if (guid) value = Guid.fromDotnetBytes(raw);
          else if (subtype === 0) value = len === 0 ? Buffer.from(NO_BYTES, 0, 0) : Buffer.from(raw);
          else value = new Binary(subtype, Buffer.from(raw));
          pos += 5 + len;
          break;
        }
        case T.Undefined:
        case T.Null:
          value = null;
          break;
        case T.ObjectId:
          this.#need(pos, 12, docEnd);
          bytes += COST.binary + 12;
          value = new Binary(0x07, Buffer.from(buf.subarray(pos, pos + 12)));
          pos += 12;
          break;
        case T.Boolean: {
          this.#need(pos, 1, docEnd);
          const b = buf[pos]!;
          if (b > 1) this.#fail(`boolean byte ${b}`, pos);
          value = b === 1;
          pos += 1;
          break;
        }
        case T.DateTime: {
          this.#need(pos, 8, docEnd);
          bytes += COST.date;
          value = new Date(readInt64AsNumber(buf, pos));
          pos += 8;
          break;
        }
        case T.Int32: {
          this.#need(pos, 4, docEnd);
          const v = buf.readInt32LE(pos);
          if (preserve) {
            value = new Int32(v);
            bytes += COST.boxed;
          } else value = v;
          pos += 4;
          break;
        }
        case T.Int64: {
          this.#need(pos, 8, docEnd);
          if (preserve) value = new Int64(buf.readBigInt64LE(pos));
          else {
            const n = readInt64AsNumber(buf, pos);
            value = Number.isSafeInteger(n) ? n : buf.readBigInt64LE(pos);
          }
          bytes += COST.boxed;
          pos += 8;
          break;
        }
        default:
          this.#fail(`unsupported element type 0x${type.toString(16).padStart(2, '0')} for '${buf.toString('utf8', keyStart, keyEnd)}'`, keyStart - 1);
      }
      if (bytes > maxBytes) this.#tooBig();
      if (isArray) (frame.out as unknown[]).push(value);
      else setMember(frame.out as Record<string, unknown>, key, value);
    }
  }

  /**
   * Reads the element name at `start` (which must end before `end`); `skip` only finds its end. Short ASCII names
   * come from {@link keyCache}: the same few names recur in every message, and a string already used as a property
   * name makes the property store cheaper than a new string with the same text.
   */
  #key(start: number, end: number, skip: boolean): string {
    const buf = this.#buf;
    let i = start;
    let hash = 0;
    let ascii = true;
    const scanEnd = Math.min(end, start + MAX_CACHED_KEY + 1);
    while (i < scanEnd) {
      const b = buf[i]!;
      if (b === 0) break;
      if (b >= 0x80) ascii = false;
      hash = (Math.imul(hash, 31) + b) | 0;
      i++;
    }
    this.#keyCost = 0;
    if (i === scanEnd) {
      // Not found among the first bytes: a long name, or none.
      const nul = scanEnd < end ? buf.indexOf(0, scanEnd) : -1;
      if (nul < 0 || nul >= end) this.#fail('unterminated element name', start);
      this.#keyEnd = nul;
      if (skip) return '';
      this.#keyCost = COST.newKey + 2 * (nul - start);
      return buf.toString('utf8', start, nul);
    }
    this.#keyEnd = i;
    if (skip) return '';
    const length = i - start;
    if (!ascii) {
      this.#keyCost = COST.newKey + 2 * length;
      return buf.toString('utf8', start, i);
    }
    const slot = hash & (KEY_CACHE_SIZE - 1);
    const cached = keyCache[slot];
    if (cached !== undefined && cached.length === length) {
      let same = true;
      for (let k = 0; k < length; k++) {
        if (cached.charCodeAt(k) !== buf[start + k]) {
          same = false;
          break;
        }
      }
      if (same) return cached;
    }
    // ASCII: the same text as the UTF-8 decoding.
    const key = buf.toString('latin1', start, i);
    keyCache[slot] = key;
    this.#keyCost = COST.newKey + length;
    return key;
  }

  #need(pos: number, n: number, end: number): void {
    if (pos + n > end) this.#fail(`value needs ${n} bytes but the document ends`, pos);
  }
}

/** Stores a member; a key named `__proto__` becomes a plain property, never the prototype. */
function setMember(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}
