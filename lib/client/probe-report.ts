/**
 * What a probe reports ({@link HalibutClient.probe}): how far it got, what it learned on the way, how long each step
 * took, and for a failure the error with a one-line explanation. Every field is always present, `null` while unknown,
 * so that a report has the same shape whatever happened and reads the same in JSON.
 */
import type { CertificateFacts } from '../certificates/presented.js';
import type { HalibutError } from '../errors.js';

/**
 * The steps of a probe, in order: `connect` (TCP, and the proxy's tunnel), `tls` (the handshake with our
 * certificate), `pin` (the agent's certificate against the endpoint's thumbprints), `identify` (`MX-CLIENT` →
 * `MX-SERVER`: the agent speaks Halibut and trusts us) and `request` (one request, answered).
 */
export type ProbeStep = 'connect' | 'tls' | 'pin' | 'identify' | 'request';

/** How a probe is limited. */
export interface ProbeOptions {
  /**
   * Stops the probe; the report then says where it was stopped (`ProbeAbortedError`, or a `PhaseTimeoutError` for a
   * signal from `AbortSignal.timeout()`). The promise still resolves with a report.
   */
  signal?: AbortSignal | undefined;
  /**
   * The longest the whole probe may take. When it passes, the report's failure is a `PhaseTimeoutError` whose `phase`
   * is where the probe was (`connect`, `handshake`, `identification` or `response`) and whose `timeoutMs` is this
   * limit. No limit by default: each step still has the client's own (`connectTimeoutMs`, `handshakeTimeoutMs`, and
   * `heartbeatTimeoutMs` for the answer to the probe's request).
   */
  timeoutMs?: number | undefined;
}

/** The certificate the agent presented, as a probe reports it. */
export interface ProbedCertificate extends CertificateFacts {
  /** Whole days from the probe to `notAfter`, rounded down; negative once it has passed. Halibut ignores expiry. */
  daysToExpiry: number;
}

/** How long each step took, in milliseconds (fractions included); `null` for a step that did not complete. */
export interface ProbeLatency {
  /** The TCP connection (through the proxy's tunnel, if any). */
  connectMs: number | null;
  /** The TLS handshake, the pin check included. */
  tlsMs: number | null;
  /** Identification: from sending `MX-CLIENT` (after TLS 1.3's session tickets) to reading `MX-SERVER`. */
  identifyMs: number | null;
  /** The probe's request and its answer. */
  requestMs: number | null;
  /** From the start of the probe to its end, whether it succeeded or not (closing the connection not included). */
  totalMs: number;
}

/** Why a probe failed. */
export interface ProbeFailure<Step extends string = ProbeStep> {
  /** The step that failed. */
  step: Step;
  /** The library's error for it; branch on its stable `code` (see docs/errors.md). */
  error: HalibutError;
  /** One line for a person or a table: what it most likely means. The error's message has the details. */
  explanation: string;
}

/** A probe's findings; see docs/client.md#probing-an-agent. */
export interface ProbeReport {
  /** The endpoint's URL, normalised (`https://host:port/`). */
  url: string;
  /** True when every step passed: the agent is reachable, pinned, speaks Halibut, trusts us and answered. */
  ok: boolean;
  /** The proxy the probe went through (`scheme://host:port`, never with credentials), or `null` for a direct connection. */
  proxy: string | null;
  /** True once TCP (and the proxy's tunnel) connected. */
  reachable: boolean;
  /** The negotiated TLS version (e.g. `TLSv1.3`) and cipher suite (OpenSSL's name), once a handshake completed. */
  tls: {
    /** e.g. `TLSv1.3`. */
    version: string;
    /** e.g. `TLS_AES_256_GCM_SHA384`. */
    cipher: string;
  } | null;
  /** The certificate the agent presented (pinned or not), once a handshake completed. */
  certificate: ProbedCertificate | null;
  /** Whether that certificate is one the endpoint pins; `null` before the handshake completed. */
  pinMatched: boolean | null;
  /**
   * Whether the peer speaks Halibut: true once it identified as a Halibut service, false when it answered TLS or
   * identification with something else (a plain HTTP server, an HTTPS server), `null` when the probe cannot tell.
   */
  halibut: boolean | null;
  /**
   * Whether the agent trusts our certificate: true once it identified, false when it closed the connection right
   * after we identified (what a Halibut listener does to a client it does not trust), `null` when the probe did not
   * get that far.
   */
  trusted: boolean | null;
  /** How long each step took. */
  latency: ProbeLatency;
  /** Why the probe failed, or `null` when it did not. */
  failure: ProbeFailure | null;
}
