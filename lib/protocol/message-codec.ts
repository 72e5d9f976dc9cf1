/**
 * The message envelope: `{ Message: RequestMessage | ResponseMessage }`, with `$type` first on the message, as
 * Halibut writes it so that old receivers can read it. DataStreams found in the values are captured in document
 * order, which is the order their bodies follow the message on the wire.
 */
import { BsonDecoder, decodeInSlices, encodeBson, topLevel, type BsonDecodeOptions, type DecodeHooks } from './bson.js';
import { DataStream } from './data-stream.js';
import { encodedDescription } from './endpoint-description.js';
import { Guid, Int64 } from './dotnet-values.js';
import { MessageFormatError } from './errors.js';

export const REQUEST_TYPE = 'Halibut.Transport.Protocol.RequestMessage, Halibut';
export const RESPONSE_TYPE = 'Halibut.Transport.Protocol.ResponseMessage, Halibut';
export const DATA_STREAM_TYPE = 'Halibut.DataStream, Halibut';

/** What a Halibut request says. `endpoint` is informational; services ignore it. */
export interface RequestMessage {
  /** Free text the response echoes; Halibut writes `Service::Method[n] / activityId`. */
  id: string;
  /** A new Guid per call. */
  activityId: Guid;
  /** The caller's description of the endpoint it called, or `null`. */
  endpoint: Record<string, unknown> | null;
  /** The service name, e.g. `IScriptServiceV2`. */
  service: string;
  /** The method name, e.g. `GetStatus`. */
  method: string;
  /** The arguments, as wire values (contract objects carry their `$type`). */
  params: unknown[];
}

/** An error as a Halibut service reports it. */
export interface ServerError {
  /** The error text. */
  message: string;
  /** The full exception text (type, message, stack), or `null`. */
  details: string | null;
  /** Set by newer Halibut for its own exception types; absent from 4.4.x. */
  HalibutErrorType?: string | null;
}

export interface ResponseMessage {
  id: string;
  error: ServerError | null;
  result: unknown;
}

export interface EncodedMessage {
  bson: Buffer;
  /** Streams whose bodies must follow the message, in order. */
  streams: DataStream[];
}

function capturingReplacer(streams: DataStream[]) {
  return (value: object, top: boolean): unknown => {
    if (!(value instanceof DataStream)) return undefined;
    streams.push(value);
    const shape = { id: value.id, length: new Int64(value.length) };
    return top ? { $type: DATA_STREAM_TYPE, ...shape } : shape;
  };
}

export function encodeRequest(request: RequestMessage): EncodedMessage {
  const streams: DataStream[] = [];
  const bson = encodeBson(
    {
      Message: {
        $type: REQUEST_TYPE,
        id: request.id,
        activityId: request.activityId,
        endpoint: encodedDescription(request.endpoint),
        service: request.service,
        method: request.method,
        params: request.params.map(topLevel),
      },
    },
    { replacer: capturingReplacer(streams) },
  );
  return { bson, streams };
}

export function encodeResponse(response: ResponseMessage): EncodedMessage {
  const streams: DataStream[] = [];
  const error = response.error === null ? null : { message: response.error.message, details: response.error.details, HalibutErrorType: response.error.HalibutErrorType ?? null };
  const bson = encodeBson(
    { Message: { $type: RESPONSE_TYPE, id: response.id, error, result: topLevel(response.result) } },
    { replacer: capturingReplacer(streams) },
  );
  return { bson, streams };
}

export type DecodedMessage =
  | { kind: 'request'; message: RequestMessage; streams: Array<{ id: Guid; length: number; holder: StreamHolder }> }
  | { kind: 'response'; message: ResponseMessage; streams: Array<{ id: Guid; length: number; holder: StreamHolder }> };

/** Where a decoded DataStream placeholder sits, so the real stream object can be put in its place. */
export interface StreamHolder {
  container: Record<string, unknown> | unknown[];
  key: string | number;
}

export interface DecodeMessageOptions extends BsonDecodeOptions {
  /**
   * Unwrap Json.NET's `{ $type, $values }` collection and `{ $type, $value }` byte-array wrappers into plain arrays
   * and buffers. Default true; the golden-vector tests turn it off to see the document as sent.
   */
  unwrapCollections?: boolean;
}

/** Decodes an envelope at once. DataStreams are returned as placeholders to be bound to the connection by the caller. */
export function decodeMessage(bson: Buffer, options: DecodeMessageOptions = {}): DecodedMessage {
  const payload = new PayloadWatcher(options.unwrapCollections ?? true);
  const decoder = new BsonDecoder(bson, options, payload);
  decoder.run(Infinity);
  return envelope(decoder.result, payload);
}

/**
 * Decodes an envelope as {@link decodeMessage} does, but a large one in slices that yield to the event loop between
 * them: the connections reading untrusted messages use this, so that no message holds the loop for long.
 */
export async function decodeMessageInSlices(bson: Buffer, options: DecodeMessageOptions = {}): Promise<DecodedMessage> {
  const payload = new PayloadWatcher(options.unwrapCollections ?? true);
  return envelope(await decodeInSlices(new BsonDecoder(bson, options, payload)), payload);
}

function envelope(root: Record<string, unknown>, payload: PayloadWatcher): DecodedMessage {
  const message = root['Message'];
  if (message === null || typeof message !== 'object' || Array.isArray(message)) {
    throw new MessageFormatError('The envelope has no Message document');
  }
  const m = message as Record<string, unknown>;
  const type = m['$type'];

  if (type === REQUEST_TYPE || (typeof type === 'string' && type.startsWith('Halibut.Transport.Protocol.RequestMessage,'))) {
    const params = m['params'];
    if (!Array.isArray(params)) throw new MessageFormatError('The request has no params array');
    const activityId = m['activityId'];
    const request: RequestMessage = {
      id: stringField(m, 'id', 'request'),
      activityId: activityId instanceof Guid ? activityId : typeof activityId === 'string' ? Guid.parse(activityId) : Guid.random(),
      endpoint: (m['endpoint'] as Record<string, unknown> | null | undefined) ?? null,
      service: stringField(m, 'service', 'request'),
      method: stringField(m, 'method', 'request'),
      params,
    };
    return { kind: 'request', message: request, streams: payload.found.params };
  }
  if (type === RESPONSE_TYPE || (typeof type === 'string' && type.startsWith('Halibut.Transport.Protocol.ResponseMessage,'))) {
    const error = m['error'];
    let serverError: ServerError | null = null;
    if (error !== null && error !== undefined) {
      if (typeof error !== 'object' || Array.isArray(error)) throw new MessageFormatError('The response error is not a document');
      const e = error as Record<string, unknown>;
      serverError = {
        message: typeof e['message'] === 'string' ? e['message'] : '',
        details: typeof e['details'] === 'string' ? e['details'] : null,
        HalibutErrorType: typeof e['HalibutErrorType'] === 'string' ? e['HalibutErrorType'] : null,
      };
    }
    const response: ResponseMessage = { id: typeof m['id'] === 'string' ? m['id'] : '', error: serverError, result: m['result'] ?? null };
    const streams = payload.found.result;
    // A DataStream that is the whole result is bound on the response itself.
    for (const s of streams) if (s.holder.container === m) s.holder = { container: response as unknown as Record<string, unknown>, key: 'result' };
    return { kind: 'response', message: response, streams };
  }
  throw new MessageFormatError(`Unexpected message type ${JSON.stringify(type)}`);
}

type FoundStreams = Array<{ id: Guid; length: number; holder: StreamHolder }>;

/**
 * Watches the payload (a request's `params`, a response's `result`) as it is decoded: finds the DataStreams in it, in
 * document order, and unwraps Json.NET's collection wrappers when asked. Documents close contents first, so a wrapper
 * is unwrapped after what it wraps has been seen to.
 */
class PayloadWatcher implements DecodeHooks {
  readonly found = { params: [] as FoundStreams, result: [] as FoundStreams };
  readonly #unwrap: boolean;

  constructor(unwrap: boolean) {
    this.#unwrap = unwrap;
  }

  watch(key: string, depth: number): string | undefined {
    // The root is at depth 1, Message at 2, its members at 3.
    return depth === 3 && (key === 'params' || key === 'result') ? key : undefined;
  }

  closed(value: Record<string, unknown> | unknown[], container: Record<string, unknown> | unknown[], key: string | number, tag: string): unknown {
    if (Array.isArray(value)) return value;
    const streams = tag === 'params' ? this.found.params : this.found.result;
    const stream = asDataStream(value);
    if (stream !== undefined) {
      streams.push({ ...stream, holder: { container, key } });
      return value;
    }
    if (this.#unwrap && typeof value['$type'] === 'string' && ('$values' in value || '$value' in value) && Object.keys(value).length === 2) {
      const inner = value['$values'] ?? value['$value'];
      // A DataStream that was the wrapped value is now held where the wrapper was.
      const last = streams[streams.length - 1];
      if (last !== undefined && last.holder.container === value) last.holder = { container, key };
      return inner;
    }
    return value;
  }
}

/** Puts the bound DataStream objects where their placeholders were. */
export function bindStreams(decoded: DecodedMessage, streams: readonly DataStream[]): void {
  decoded.streams.forEach((s, i) => {
    (s.holder.container as Record<string | number, unknown>)[s.holder.key] = streams[i];
  });
}

function asDataStream(o: Record<string, unknown>): { id: Guid; length: number } | undefined {
  const type = o['$type'];
  const tagged = typeof type === 'string' && type.startsWith('Halibut.DataStream,');
  const id = o['id'];
  const rawLength = o['length'];
  // Untagged DataStreams (in properties declared DataStream) are recognised by their exact shape.
  if (!tagged && !(id instanceof Guid && (typeof rawLength === 'number' || rawLength instanceof Int64) && Object.keys(o).length === 2)) return undefined;
  const length = rawLength instanceof Int64 ? rawLength.toNumber() : rawLength;
  if (!(id instanceof Guid) || typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
    throw new MessageFormatError('A DataStream in the message has no valid id or length');
  }
  return { id, length };
}

function stringField(m: Record<string, unknown>, key: string, what: string): string {
  const v = m[key];
  if (typeof v !== 'string') throw new MessageFormatError(`The ${what} has no '${key}' string`);
  return v;
}
