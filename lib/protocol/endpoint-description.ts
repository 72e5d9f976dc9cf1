/**
 * The `endpoint` field of a request: how the caller describes the endpoint it dialled, in the shape Halibut 4.4.8
 * writes. Services ignore it; it is informational. The proxy is never described: Halibut would put the proxy's
 * password here, inside every request.
 */
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

export function describeEndpoint(e: EndpointDescription): Record<string, unknown> {
  const span = (ms: number): string => TimeSpan.fromMilliseconds(ms).toString();
  return {
    PollingRequestQueueTimeout: '00:02:00',
    PollingRequestMaximumMessageProcessingTimeout: '00:10:00',
    RetryListeningSleepInterval: span(e.retryDelayMs),
    RetryCountLimit: new Int32(e.retryAttempts),
    ConnectionErrorRetryTimeout: span(e.retryWindowMs),
    TcpClientConnectTimeout: span(e.connectTimeoutMs),
    BaseUri: e.url,
    RemoteThumbprint: e.thumbprint ?? null,
    Proxy: null,
    IsWebSocketEndpoint: false,
  };
}
