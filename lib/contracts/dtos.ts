/**
 * Tentacle's contract types as plain TypeScript objects. Property names are the .NET names, exactly as they travel;
 * `long` properties are numbers (sequences and file lengths stay far below 2^53), TimeSpans are {@link TimeSpan}s,
 * and `DateTimeOffset`s are `Date`s.
 */
import type { DataStream } from '../protocol/data-stream.js';
import type { TimeSpan } from '../protocol/dotnet-values.js';
import type { ProcessOutputSource, ProcessState, ScriptIsolationLevel, ScriptTypeName } from './enums.js';

/** Names a script on a Tentacle. It is also the name of the script's workspace directory there. */
export interface ScriptTicket {
  TaskId: string;
}

/** A file saved into the script's workspace before it runs. */
export interface ScriptFile {
  /** Path relative to the workspace; subdirectories are created. */
  Name: string;
  Contents: DataStream;
  /** When set, the Tentacle stores the body AES-encrypted with this password (for Calamari). */
  EncryptionPassword: string | null;
}

/** Script bodies for particular shells; on Linux a `Bash` entry replaces `ScriptBody`. */
export type ScriptBodies = Partial<Record<ScriptTypeName, string>>;

/** The fields V1 and V2 start commands share. */
export interface StartScriptFields {
  ScriptBody: string;
  Isolation: ScriptIsolationLevel;
  /** `00:00:00` means no limit. */
  ScriptIsolationMutexTimeout: TimeSpan;
  /** `null` means the default mutex, `RunningScript`. */
  IsolationMutexName: string | null;
  Scripts: ScriptBodies;
  Files: ScriptFile[];
  /** Joined with spaces, unquoted, by the Tentacle: quote them first (see `quoteArguments`). */
  Arguments: string[];
}

/** `IScriptService.StartScript`: the Tentacle chooses the ticket. */
export interface StartScriptCommand extends StartScriptFields {
  TaskId: string | null;
}

/** `IScriptServiceV2.StartScript`: the client chooses the ticket, which makes a repeated start harmless. */
export interface StartScriptCommandV2 extends StartScriptFields {
  ScriptTicket: ScriptTicket;
  TaskId: string;
  /** How long StartScript itself waits for the script to finish before answering; `null` answers at once. */
  DurationToWaitForScriptToFinish: TimeSpan | null;
}

/** A ticket and how many log records the caller has already seen. */
export interface TicketAndSequence {
  Ticket: ScriptTicket;
  LastLogSequence: number;
}

export type ScriptStatusRequest = TicketAndSequence;
export type CancelScriptCommand = TicketAndSequence;
export type CompleteScriptCommand = TicketAndSequence;
export type ScriptStatusRequestV2 = TicketAndSequence;
export type CancelScriptCommandV2 = TicketAndSequence;

export interface CompleteScriptCommandV2 {
  Ticket: ScriptTicket;
}

/** One line of a script's log. */
export interface ProcessOutput {
  Source: ProcessOutputSource;
  /** UTC, millisecond precision. */
  Occurred: Date;
  Text: string;
}

/** Where a script is, and the log records after the requested sequence. */
export interface ScriptStatusResponse {
  Ticket: ScriptTicket;
  Logs: ProcessOutput[];
  /** The total number of log records so far: send it as the next `LastLogSequence`. */
  NextLogSequence: number;
  State: ProcessState;
  /** Meaningful once `State` is Complete. */
  ExitCode: number;
}

export type ScriptStatusResponseV2 = ScriptStatusResponse;

/** What `IFileTransferService.UploadFile` reports about the saved file. */
export interface UploadResult {
  /** The absolute path on the agent. */
  FullPath: string;
  /** Lowercase hex SHA-1 of the saved file. */
  Hash: string | null;
  Length: number;
}

export interface CapabilitiesResponseV2 {
  SupportedCapabilities: string[];
}

export interface PodImageConfigurationV1 {
  Image: string | null;
  FeedUrl: string | null;
  FeedUsername: string | null;
  FeedPassword: string | null;
}

export interface CalamariImageConfiguration {
  Name: string;
  Version: string;
}

export interface KubernetesAgentAuthContext {
  SpaceSlug: string;
  ProjectSlug: string;
  ProjectGroupSlug: string | null;
  EnvironmentSlug: string;
  TenantSlug: string | null;
  StepSlug: string;
}

/** `IKubernetesScriptServiceV1.StartScript`: like V2, but the ticket property is `ScriptTicket` throughout. */
export interface StartKubernetesScriptCommandV1 {
  ScriptTicket: ScriptTicket;
  TaskId: string;
  ScriptBody: string;
  Arguments: string[];
  Isolation: ScriptIsolationLevel;
  ScriptIsolationMutexTimeout: TimeSpan;
  IsolationMutexName: string | null;
  PodImageConfiguration: PodImageConfigurationV1 | null;
  ScriptPodServiceAccountName: string | null;
  Scripts: ScriptBodies;
  Files: ScriptFile[];
  IsRawScript: boolean;
  AuthContext: KubernetesAgentAuthContext | null;
  ScriptPodPlatform: string | null;
  CalamariImageConfiguration: CalamariImageConfiguration | null;
}

export interface KubernetesTicketAndSequence {
  ScriptTicket: ScriptTicket;
  LastLogSequence: number;
}

export type KubernetesScriptStatusRequestV1 = KubernetesTicketAndSequence;
export type CancelKubernetesScriptCommandV1 = KubernetesTicketAndSequence;

export interface CompleteKubernetesScriptCommandV1 {
  ScriptTicket: ScriptTicket;
}

export interface KubernetesScriptStatusResponseV1 {
  ScriptTicket: ScriptTicket;
  Logs: ProcessOutput[];
  NextLogSequence: number;
  State: ProcessState;
  ExitCode: number;
}
