// Hostile responses, built as raw bytes (never as JavaScript values, which would cost the test what they are meant
// to cost the client). A response is the envelope around a `result` element; the element is compressed once, as a
// sync-flushed (non-final) run of DEFLATE blocks, and the envelope around it per call, because it carries the call's
// id. Raw DEFLATE streams cut at a sync flush can be concatenated: the parts make one stream.
import { constants, deflateRawSync } from 'node:zlib';
import { RESPONSE_TYPE } from '../../lib/protocol/message-codec.js';

/** A `result` element, compressed, and the length it claims in the document. */
export interface HostileResult {
  /** The element's bytes as DEFLATE blocks ending in a sync flush (not a final block). */
  deflated: Buffer;
  /** How many bytes the element takes in the document as declared (more than it inflates to, for a lying bomb). */
  length: number;
}

const KEY = Buffer.from('result\0', 'latin1');

/** Compresses an element's bytes (type byte, name and value) into the middle of a stream. */
function middle(element: Buffer, length = element.length, level = 1): HostileResult {
  return { deflated: deflateRawSync(element, { level, finishFlush: constants.Z_SYNC_FLUSH }), length };
}

function header(type: number, valueLength: number): Buffer {
  const out = Buffer.alloc(1 + KEY.length + valueLength);
  out[0] = type;
  KEY.copy(out, 1);
  return out;
}

/** An array of `count` items, each `item` bytes, with empty element names (the decoder does not read array names). */
function arrayOf(count: number, item: Buffer): HostileResult {
  const size = 4 + count * item.length + 1;
  const element = header(0x04, size);
  let at = 1 + KEY.length;
  element.writeInt32LE(size, at);
  at += 4;
  for (let i = 0; i < count; i++, at += item.length) item.copy(element, at);
  return middle(element);
}

/** Millions of empty binaries: a few bytes each on the wire, a Buffer object each once decoded. */
export function tinyBinaries(count: number): HostileResult {
  return arrayOf(count, Buffer.from([0x05, 0x00, 0, 0, 0, 0, 0x00]));
}

/** Tens of millions of nulls: the cheapest element there is, two bytes. */
export function tinyNulls(count: number): HostileResult {
  return arrayOf(count, Buffer.from([0x0a, 0x00]));
}

/** Arrays nested `levels` deep. */
export function deepNesting(levels: number): HostileResult {
  // Each level: its length, one element (an array named '') holding the next level, and its NUL; the innermost is empty.
  const size = 7 * (levels - 1) + 5;
  const element = header(0x04, size);
  let at = 1 + KEY.length;
  for (let i = 0; i < levels; i++) {
    element.writeInt32LE(7 * (levels - 1 - i) + 5, at);
    at += 4;
    if (i < levels - 1) {
      element[at++] = 0x04;
      element[at++] = 0x00;
    }
  }
  // The NULs that close the levels are the zeros already there.
  return middle(element);
}

/** One string of `bytes` bytes of UTF-8: ASCII, or with one 'é' in front (so V8 keeps it at two bytes a character). */
export function hugeString(bytes: number, twoByte: boolean): HostileResult {
  const element = header(0x02, 4 + bytes + 1);
  const at = 1 + KEY.length;
  element.writeInt32LE(bytes + 1, at);
  element.fill('x', at + 4, at + 4 + bytes);
  if (twoByte) element.write('é', at + 4, 'utf8');
  element[at + 4 + bytes] = 0;
  return middle(element);
}

/** One document with `count` distinct keys, each holding null. */
export function manyKeys(count: number): HostileResult {
  const name = (i: number): string => `k${i.toString(36)}`;
  let size = 5;
  for (let i = 0; i < count; i++) size += name(i).length + 2;
  const element = header(0x03, size);
  let at = 1 + KEY.length;
  element.writeInt32LE(size, at);
  at += 4;
  for (let i = 0; i < count; i++) {
    element[at++] = 0x0a;
    at += element.write(name(i), at, 'latin1');
    element[at++] = 0;
  }
  return middle(element);
}

/**
 * A binary of zeros that claims `claimed` bytes and holds `actual` (a bomb: the zeros compress about a thousand to
 * one). Claiming more than it holds makes the document declare more than the stream will give; claiming less makes
 * the stream give more than the document declares.
 */
export function zeroBomb(claimed: number, actual: number): HostileResult {
  const element = header(0x05, 5 + actual);
  const at = 1 + KEY.length;
  element.writeInt32LE(claimed, at);
  return middle(element, 1 + KEY.length + 5 + claimed, 9);
}

function cstringElement(type: number, name: string, value?: string): Buffer {
  const key = Buffer.from(`${name}\0`, 'utf8');
  if (value === undefined) return Buffer.concat([Buffer.from([type]), key]);
  const text = Buffer.from(`${value}\0`, 'utf8');
  const len = Buffer.alloc(4);
  len.writeInt32LE(text.length);
  return Buffer.concat([Buffer.from([type]), key, len, text]);
}

/** The whole compressed response to call `id`: the envelope around the hostile result. */
export function responseWire(id: string, result: HostileResult): Buffer {
  const members = Buffer.concat([cstringElement(0x02, '$type', RESPONSE_TYPE), cstringElement(0x02, 'id', id), cstringElement(0x0a, 'error')]);
  const messageLength = 4 + members.length + result.length + 1;
  const rootLength = 4 + 1 + 'Message\0'.length + messageLength + 1;
  const head = Buffer.alloc(4 + 1 + 8 + 4);
  head.writeInt32LE(rootLength, 0);
  head[4] = 0x03;
  head.write('Message\0', 5, 'latin1');
  head.writeInt32LE(messageLength, 13);
  const prefix = deflateRawSync(Buffer.concat([head, members]), { finishFlush: constants.Z_SYNC_FLUSH });
  const suffix = deflateRawSync(Buffer.from([0, 0]));
  return Buffer.concat([prefix, result.deflated, suffix]);
}
