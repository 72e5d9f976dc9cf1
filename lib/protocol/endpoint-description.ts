/**
 * The `endpoint` field of a request: how the caller describes the endpoint it dialled, in the shape Halibut 4.4.8
 * writes. Services ignore it; it is informational. The proxy is never described: Halibut would put the proxy's
 * password here, inside every request.
 */
import { EncodedDocument, encodeBson } from './bson.js';
import { Int32, TimeSpan } from './dotnet-values.js';

export interface EndpointDescription {
  /** Normalised `https://host:port/`. */
  url: string;
  thumbprint: string | undefined;
  connectTimeoutMs: number;
  retryAttempts: number;
  retryDelayMs: number;
  retryWindowMs: number;
}

/** Descriptions made here, with their BSON once encoded: they are frozen, so the bytes stay right. */
const encodings = new WeakMap<object, EncodedDocument | undefined>();

/** The description (frozen: a caller can reuse it for every request to the endpoint). */
export function describeEndpoint(e: EndpointDescription): Record<string, unknown> {
  const span = (ms: number): string => TimeSpan.fromMilliseconds(ms).toString();
  const description = Object.freeze({
    PollingRequestQueueTimeout: '00:02:00',
    PollingRequestMaximumMessageProcessingTimeout: '00:10:00',
    RetryListeningSleepInterval: span(e.retryDelayMs),
    RetryCountLimit: Object.freeze(new Int32(e.retryAttempts)),
    ConnectionErrorRetryTimeout: span(e.retryWindowMs),
    TcpClientConnectTimeout: span(e.connectTimeoutMs),
    BaseUri: e.url,
    RemoteThumbprint: e.thumbprint ?? null,
    Proxy: null,
    IsWebSocketEndpoint: false,
  });
  encodings.set(description, undefined);
  return description;
}

/**
 * @internal For a description made by {@link describeEndpoint}, its BSON (encoded on first use, then reused); for
 * anything else, the value itself.
 */
export function encodedDescription(endpoint: Record<string, unknown> | null): Record<string, unknown> | EncodedDocument | null {
  if (endpoint === null || !encodings.has(endpoint)) return endpoint;
  let encoded = encodings.get(endpoint);
  if (encoded === undefined) {
    encoded = new EncodedDocument(Buffer.from(encodeBson(endpoint)));
    encodings.set(endpoint, encoded);
  }
  return encoded;
}
