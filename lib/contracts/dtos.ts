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
  /** The ticket's identifier: the client's choice for V2 and Kubernetes, the Tentacle's for V1 (see `newScriptTicket`). */
  TaskId: string;
}

/** A file saved into the script's workspace before it runs. */
export interface ScriptFile {
  /** Path relative to the workspace; subdirectories are created. */
  Name: string;
  /** The file's bytes, sent as a data stream after the message. */
  Contents: DataStream;
  /** When set, the Tentacle stores the body AES-encrypted with this password (for Calamari). */
  EncryptionPassword: string | null;
}

/** Script bodies for particular shells; on Linux a `Bash` entry replaces `ScriptBody`. */
export type ScriptBodies = Partial<Record<ScriptTypeName, string>>;

/** The fields V1 and V2 start commands share. */
export interface StartScriptFields {
  /** The script text; on Linux and macOS used only when `Scripts` has no `Bash` entry. Must not be null. */
  ScriptBody: string;
  /** Whether the isolation mutex is taken shared or exclusive. */
  Isolation: ScriptIsolationLevel;
  /** `00:00:00` means no limit. */
  ScriptIsolationMutexTimeout: TimeSpan;
  /** `null` means the default mutex, `RunningScript`. */
  IsolationMutexName: string | null;
  /** Script bodies for particular shells, keyed by shell name. */
  Scripts: ScriptBodies;
  /** Files saved into the workspace before the script runs. */
  Files: ScriptFile[];
  /** Joined with spaces, unquoted, by the Tentacle: quote them first (see `quoteArguments`). */
  Arguments: string[];
}

/** `IScriptService.StartScript`: the Tentacle chooses the ticket. */
export interface StartScriptCommand extends StartScriptFields {
  /** The Octopus task id (e.g. `ServerTasks-123`), used in the ticket the Tentacle makes and in mutex messages. */
  TaskId: string | null;
}

/** `IScriptServiceV2.StartScript`: the client chooses the ticket, which makes a repeated start harmless. */
export interface StartScriptCommandV2 extends StartScriptFields {
  /** The ticket the script will be known by; starting the same ticket again does not start a second script. */
  ScriptTicket: ScriptTicket;
  /** The Octopus task id (e.g. `ServerTasks-123`), shown in mutex messages. */
  TaskId: string;
  /** How long StartScript itself waits for the script to finish before answering; `null` answers at once. */
  DurationToWaitForScriptToFinish: TimeSpan | null;
}

/** A ticket and how many log records the caller has already seen. */
export interface TicketAndSequence {
  /** The script. */
  Ticket: ScriptTicket;
  /** Log records already received (the previous response's `NextLogSequence`); 0 at first. */
  LastLogSequence: number;
}

/** `IScriptService.GetStatus`: the script's state and the log records after `LastLogSequence`. */
export type ScriptStatusRequest = TicketAndSequence;
/** `IScriptService.CancelScript`: stop the script; answers with its status like `GetStatus`. */
export type CancelScriptCommand = TicketAndSequence;
/** `IScriptService.CompleteScript`: the last status, after which the Tentacle deletes the script's workspace. */
export type CompleteScriptCommand = TicketAndSequence;
/** `IScriptServiceV2.GetStatus`: the script's state and the log records after `LastLogSequence`. */
export type ScriptStatusRequestV2 = TicketAndSequence;
/** `IScriptServiceV2.CancelScript`: stop the script; answers with its status like `GetStatus`. */
export type CancelScriptCommandV2 = TicketAndSequence;

/** `IScriptServiceV2.CompleteScript`: the Tentacle forgets the script and deletes its workspace; nothing comes back. */
export interface CompleteScriptCommandV2 {
  /** The script. */
  Ticket: ScriptTicket;
}

/** One line of a script's log. */
export interface ProcessOutput {
  /** Whether the line came from stdout, stderr or the Tentacle itself. */
  Source: ProcessOutputSource;
  /** UTC, millisecond precision. */
  Occurred: Date;
  /** The line, without its line break. */
  Text: string;
}

/** Where a script is, and the log records after the requested sequence. */
export interface ScriptStatusResponse {
  /** The script. */
  Ticket: ScriptTicket;
  /** The log records after the requested sequence, oldest first. */
  Logs: ProcessOutput[];
  /** The total number of log records so far: send it as the next `LastLogSequence`. */
  NextLogSequence: number;
  /** Pending, Running or Complete. */
  State: ProcessState;
  /** Meaningful once `State` is Complete. */
  ExitCode: number;
}

/** What `IScriptServiceV2`'s StartScript, GetStatus and CancelScript answer: the same shape as V1's. */
export type ScriptStatusResponseV2 = ScriptStatusResponse;

/** What `IFileTransferService.UploadFile` reports about the saved file. */
export interface UploadResult {
  /** The absolute path on the agent. */
  FullPath: string;
  /** Lowercase hex SHA-1 of the saved file. */
  Hash: string | null;
  /** The saved file's size in bytes. */
  Length: number;
}

/** What `ICapabilitiesServiceV2.GetCapabilities` answers. */
export interface CapabilitiesResponseV2 {
  /** The service names the Tentacle offers, e.g. `IScriptServiceV2`. */
  SupportedCapabilities: string[];
}

/** Kubernetes agent: the container image a script pod runs, and the feed to pull it from. */
export interface PodImageConfigurationV1 {
  /** The image reference; `null` for the agent's default. */
  Image: string | null;
  /** The container registry's URL. */
  FeedUrl: string | null;
  /** The registry user name. */
  FeedUsername: string | null;
  /** The registry password (a secret: never logged). */
  FeedPassword: string | null;
}

/** Kubernetes agent: which Calamari image a script pod uses. */
export interface CalamariImageConfiguration {
  /** The image name. */
  Name: string;
  /** The image tag. */
  Version: string;
}

/** Kubernetes agent: the Octopus context a script runs for, by slugs. */
export interface KubernetesAgentAuthContext {
  /** The space. */
  SpaceSlug: string;
  /** The project. */
  ProjectSlug: string;
  /** The project group; nullable only for compatibility with older servers. */
  ProjectGroupSlug: string | null;
  /** The environment. */
  EnvironmentSlug: string;
  /** The tenant, when the deployment is tenanted. */
  TenantSlug: string | null;
  /** The deployment step. */
  StepSlug: string;
}

/** `IKubernetesScriptServiceV1.StartScript`: like V2, but the ticket property is `ScriptTicket` throughout. */
export interface StartKubernetesScriptCommandV1 {
  /** The ticket the script will be known by, chosen by the client. */
  ScriptTicket: ScriptTicket;
  /** The Octopus task id (e.g. `ServerTasks-123`). */
  TaskId: string;
  /** The script text. */
  ScriptBody: string;
  /** Joined with spaces, unquoted, by the agent: quote them first (see `quoteArguments`). */
  Arguments: string[];
  /** Whether the isolation mutex is taken shared or exclusive. */
  Isolation: ScriptIsolationLevel;
  /** `00:00:00` means no limit. */
  ScriptIsolationMutexTimeout: TimeSpan;
  /** `null` means the default mutex, `RunningScript`. */
  IsolationMutexName: string | null;
  /** The image the script pod runs; `null` for the agent's default. */
  PodImageConfiguration: PodImageConfigurationV1 | null;
  /** The Kubernetes service account the script pod runs as; `null` for the agent's default. */
  ScriptPodServiceAccountName: string | null;
  /** Script bodies for particular shells, keyed by shell name. */
  Scripts: ScriptBodies;
  /** Files saved into the workspace before the script runs. */
  Files: ScriptFile[];
  /** Whether `ScriptBody` runs as it stands rather than through Calamari's bootstrap. */
  IsRawScript: boolean;
  /** The Octopus context the script runs for. */
  AuthContext: KubernetesAgentAuthContext | null;
  /** The platform the script pod runs on; `null` for the agent's default. */
  ScriptPodPlatform: string | null;
  /** The Calamari image the script pod uses. */
  CalamariImageConfiguration: CalamariImageConfiguration | null;
}

/** Kubernetes agent: a ticket and how many log records the caller has already seen (`ScriptTicket`, not `Ticket`). */
export interface KubernetesTicketAndSequence {
  /** The script. */
  ScriptTicket: ScriptTicket;
  /** Log records already received (the previous response's `NextLogSequence`); 0 at first. */
  LastLogSequence: number;
}

/** `IKubernetesScriptServiceV1.GetStatus`: the script's state and the log records after `LastLogSequence`. */
export type KubernetesScriptStatusRequestV1 = KubernetesTicketAndSequence;
/** `IKubernetesScriptServiceV1.CancelScript`: stop the script (its pod is deleted); answers with its status. */
export type CancelKubernetesScriptCommandV1 = KubernetesTicketAndSequence;

/** `IKubernetesScriptServiceV1.CompleteScript`: the agent forgets the script; nothing comes back. */
export interface CompleteKubernetesScriptCommandV1 {
  /** The script. */
  ScriptTicket: ScriptTicket;
}

/** What `IKubernetesScriptServiceV1`'s StartScript, GetStatus and CancelScript answer. */
export interface KubernetesScriptStatusResponseV1 {
  /** The script. */
  ScriptTicket: ScriptTicket;
  /** The log records after the requested sequence, oldest first. */
  Logs: ProcessOutput[];
  /** The total number of log records so far: send it as the next `LastLogSequence`. */
  NextLogSequence: number;
  /** Pending, Running or Complete. */
  State: ProcessState;
  /** Meaningful once `State` is Complete. */
  ExitCode: number;
}
