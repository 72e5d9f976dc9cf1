/**
 * A probe: one connection of its own to an agent, taken step by step and timed — TCP, TLS, the pin, identification
 * and one request — and reported as it went. A failure is a finding, not an exception: a fleet meets refused ports,
 * wrong pins and agents that do not trust us every day, and a health check wants all of them in one shape.
 *
 * The connection is never pooled. It is opened for the probe (a pooled one would measure the pool, not the agent),
 * carries one request, because a Halibut listener that sees a client leave between identification and a request logs
 * an error, and is ended with END. It does not count against the pool's limits and shows in no `stats()`.
 */
import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { CertificateMismatchError } from '../certificates/pinning.js';
import { certificateFacts } from '../certificates/presented.js';
import { HalibutError, PhaseTimeoutError, type Phase } from '../errors.js';
import type { ClientConnection } from '../protocol/client-connection.js';
import type { IncomingStreams } from '../protocol/data-stream-wire.js';
import { AgentRejectedClientError, NotHalibutPeerError } from '../protocol/errors.js';
import type { RequestMessage } from '../protocol/message-codec.js';
import { remoteErrorFrom, type RemoteError } from '../protocol/remote-errors.js';
import { NotTlsError } from '../transport/errors.js';
import { abortReason, addAbortListener, isAborted } from '../util/abort.js';
import type { Connector } from './connector.js';
import type { ResolvedEndpoint } from './endpoint.js';
import { ProbeAbortedError } from './errors.js';
import { explainProbeFailure } from './probe-explanation.js';
import type { ProbeOptions, ProbeReport, ProbeStep } from './probe-report.js';

/** The agent's answer to a probe's request: the method's result, or the error the service answered with. */
export type ProbeAnswer = { result: unknown; error?: undefined } | { result?: undefined; error: RemoteError };

/** What a probe hands back: its report, and the answer to its request when it got one. */
export interface ProbeOutcome {
  /** The findings. */
  report: ProbeReport;
  /** The answer to the request, when the probe got that far; `undefined` otherwise. */
  answer: ProbeAnswer | undefined;
}

/** Where a probe's state stands: at one of its steps, or over. */
type ProbeState = ProbeStep | 'done';

/** The phase a time limit that runs out during a step is reported in. */
const PHASE_OF: Record<ProbeStep, Phase> = { connect: 'connect', tls: 'handshake', pin: 'handshake', identify: 'identification', request: 'response' };

/** Marks the probe's own deadline as the reason it was stopped. */
const OUT_OF_TIME = new Error('the probe ran out of time');

const MS_PER_DAY = 86_400_000;

/** One probe of one endpoint; {@link run} it once. */
export class Probe {
  readonly #connector: Connector;
  readonly #ep: ResolvedEndpoint;
  readonly #message: RequestMessage;
  readonly #options: ProbeOptions;
  /** How long the request's answer may take to begin. */
  readonly #answerMs: number;
  /** Stops every step: the caller's signal, the probe's deadline or the client closing fire it. */
  readonly #stop = new AbortController();
  readonly #report: ProbeReport;
  #state: ProbeState = 'connect';
  /** Set when the client closes: the probe then has no report to give. */
  #closedBy: Error | undefined;

  constructor(connector: Connector, ep: ResolvedEndpoint, message: RequestMessage, options: ProbeOptions, answerMs: number) {
    this.#connector = connector;
    this.#ep = ep;
    this.#message = message;
    this.#options = options;
    this.#answerMs = answerMs;
    this.#report = {
      url: ep.url,
      ok: false,
      proxy: ep.proxy?.display ?? null,
      reachable: false,
      tls: null,
      certificate: null,
      pinMatched: null,
      halibut: null,
      trusted: null,
      latency: { connectMs: null, tlsMs: null, identifyMs: null, requestMs: null, totalMs: 0 },
      failure: null,
    };
  }

  /** Stops the probe with `reason` (the client is closing): {@link run} then rejects with it. */
  stop(reason: Error): void {
    this.#closedBy ??= reason;
    this.#stop.abort(reason);
  }

  /** Runs the steps until one fails or all pass; rejects only when stopped by {@link stop}. */
  async run(): Promise<ProbeOutcome> {
    const { signal, timeoutMs } = this.#options;
    const started = performance.now();
    const stop = this.#stop.signal;
    const onCallerAbort = (): void => this.#stop.abort(signal?.reason);
    if (isAborted(signal)) onCallerAbort();
    const listener = addAbortListener(signal, onCallerAbort);
    const deadline = timeoutMs === undefined ? undefined : setTimeout(() => this.#stop.abort(OUT_OF_TIME), timeoutMs);
    const report = this.#report;
    const latency = report.latency;
    let connection: ClientConnection | undefined;
    try {
      let stepStarted = started;
      const raw = await this.#connector.dial(this.#ep, stop);
      latency.connectMs = performance.now() - stepStarted;
      report.reachable = true;

      this.#state = 'tls';
      stepStarted = performance.now();
      const tls = await this.#connector.secure(this.#ep, raw, stop, this.#inspect);
      latency.tlsMs = performance.now() - stepStarted;
      report.pinMatched = true;

      this.#state = 'identify';
      stepStarted = performance.now();
      connection = this.#connector.connection(this.#ep, tls, this.#answerMs);
      await this.#connector.identify(connection, stop);
      latency.identifyMs = performance.now() - stepStarted;
      report.halibut = true;
      report.trusted = true;

      this.#state = 'request';
      stepStarted = performance.now();
      const { answer, incoming } = await this.#request(connection, stop);
      latency.requestMs = performance.now() - stepStarted;
      latency.totalMs = performance.now() - started;
      report.ok = true;
      this.#state = 'done';
      // An answer with data streams (no probe asks for one) would hold the connection until they are read.
      if (incoming.streams.length > 0) connection.destroy();
      else await connection.end();
      return { report, answer };
    } catch (err) {
      connection?.destroy();
      latency.totalMs = performance.now() - started;
      this.#fail(err, performance.now() - started);
      return { report, answer: undefined };
    } finally {
      clearTimeout(deadline);
      listener[Symbol.dispose]();
    }
  }

  /** Reads what the handshake established, before the pin is checked, so that a mismatch still shows it. */
  readonly #inspect = (tls: TLSSocket, peer: X509Certificate): void => {
    this.#report.tls = { version: tls.getProtocol() ?? 'unknown', cipher: tls.getCipher().name };
    try {
      const facts = certificateFacts(peer);
      this.#report.certificate = { ...facts, daysToExpiry: Math.floor((facts.notAfter.getTime() - Date.now()) / MS_PER_DAY) };
    } catch {
      // Validity dates in a form nobody expects: the pin check still names the certificate's thumbprint.
    }
  };

  /** Sends the probe's request and reads the answer. */
  async #request(connection: ClientConnection, stop: AbortSignal): Promise<{ answer: ProbeAnswer; incoming: IncomingStreams }> {
    const onAbort = addAbortListener(stop, () => connection.destroy(abortReason(stop)));
    try {
      const { response, incoming } = await connection.exchange(this.#message);
      const { error } = response;
      if (error === null) return { answer: { result: response.result }, incoming };
      return { answer: { error: remoteErrorFrom(error, { endpoint: this.#ep.url, service: this.#message.service, method: this.#message.method }) }, incoming };
    } finally {
      onAbort[Symbol.dispose]();
    }
  }

  /** Records why the probe failed, and what the failure says about the agent. */
  #fail(err: unknown, elapsedMs: number): void {
    if (this.#closedBy !== undefined) throw this.#closedBy;
    const report = this.#report;
    const state = this.#state === 'done' ? 'request' : this.#state;
    const error = this.#stop.signal.aborted ? this.#stopped(state, elapsedMs) : err;
    // Not a failure of the agent's: a bug, or a broken `lookup` or dialler given to the client.
    if (!(error instanceof HalibutError)) throw error;
    const step: ProbeStep = state === 'tls' && error instanceof CertificateMismatchError ? 'pin' : state;
    if (step === 'pin') report.pinMatched = false;
    if (error instanceof NotTlsError || error instanceof NotHalibutPeerError) report.halibut = false;
    if (error instanceof AgentRejectedClientError) report.trusted = false;
    report.failure = { step, error, explanation: explainProbeFailure(report.url, step, error) };
  }

  /**
   * The error a stopped probe reports: its own deadline or a signal from `AbortSignal.timeout()` as a timeout of the
   * phase it was in, any other signal as an abort.
   */
  #stopped(state: ProbeStep, elapsedMs: number): HalibutError {
    const reason: unknown = this.#stop.signal.reason;
    const { url } = this.#report;
    if (reason === OUT_OF_TIME) return new PhaseTimeoutError(PHASE_OF[state], this.#options.timeoutMs ?? 0, `the probe of ${url} ran out of its time limit`);
    if (reason instanceof DOMException && reason.name === 'TimeoutError') {
      return new PhaseTimeoutError(PHASE_OF[state], Math.round(elapsedMs), `the probe's signal of ${url} timed out`, { cause: reason });
    }
    return new ProbeAbortedError(url, state, reason);
  }
}
