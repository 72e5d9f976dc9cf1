/**
 * Contract objects to wire values: `$type` first on the value that fills a `params` slot or the `result`, none on
 * nested objects (as Json.NET writes them), properties in the order a Tentacle writes them, `long`s as Int64 and
 * enums as int32. The golden vectors pin every byte of this.
 */
import { Int64 } from '../protocol/dotnet-values.js';
import type {
  CapabilitiesResponseV2,
  CompleteKubernetesScriptCommandV1,
  CompleteScriptCommandV2,
  KubernetesScriptStatusResponseV1,
  KubernetesTicketAndSequence,
  ProcessOutput,
  ScriptFile,
  ScriptStatusResponse,
  ScriptTicket,
  StartKubernetesScriptCommandV1,
  StartScriptCommand,
  StartScriptCommandV2,
  TicketAndSequence,
  UploadResult,
} from './dtos.js';
import { TypeNames, type ContractTypeName } from './type-names.js';

/** A contract object in wire form: the plain document (with .NET value wrappers) that the BSON encoder writes. */
export type WireDocument = Record<string, unknown>;

const typed = (name: ContractTypeName, body: WireDocument): WireDocument => ({ $type: TypeNames[name], ...body });

const ticket = (t: ScriptTicket): WireDocument => ({ TaskId: t.TaskId });

const file = (f: ScriptFile): WireDocument => ({ Name: f.Name, Contents: f.Contents, EncryptionPassword: f.EncryptionPassword });

const output = (o: ProcessOutput): WireDocument => ({ Source: o.Source, Occurred: o.Occurred, Text: o.Text });

const ticketAndSequence = (c: TicketAndSequence): WireDocument => ({ Ticket: ticket(c.Ticket), LastLogSequence: new Int64(c.LastLogSequence) });

const status = (s: ScriptStatusResponse): WireDocument => ({
  Ticket: ticket(s.Ticket),
  Logs: s.Logs.map(output),
  NextLogSequence: new Int64(s.NextLogSequence),
  State: s.State,
  ExitCode: s.ExitCode,
});

/** Encodes a {@link StartScriptCommand} in wire form, with its `$type`. */
export const encodeStartScriptCommand = (c: StartScriptCommand): WireDocument =>
  typed('StartScriptCommand', {
    ScriptBody: c.ScriptBody,
    Isolation: c.Isolation,
    Scripts: { ...c.Scripts },
    Files: c.Files.map(file),
    Arguments: [...c.Arguments],
    TaskId: c.TaskId,
    ScriptIsolationMutexTimeout: c.ScriptIsolationMutexTimeout,
    IsolationMutexName: c.IsolationMutexName,
  });

/** Encodes a {@link ScriptStatusRequest} in wire form, with its `$type`. */
export const encodeScriptStatusRequest = (c: TicketAndSequence): WireDocument => typed('ScriptStatusRequest', ticketAndSequence(c));
/** Encodes a {@link CancelScriptCommand} in wire form, with its `$type`. */
export const encodeCancelScriptCommand = (c: TicketAndSequence): WireDocument => typed('CancelScriptCommand', ticketAndSequence(c));
/** Encodes a {@link CompleteScriptCommand} in wire form, with its `$type`. */
export const encodeCompleteScriptCommand = (c: TicketAndSequence): WireDocument => typed('CompleteScriptCommand', ticketAndSequence(c));
/** Encodes a {@link ScriptTicket} in wire form, with its `$type`. */
export const encodeScriptTicket = (t: ScriptTicket): WireDocument => typed('ScriptTicket', ticket(t));
/** Encodes a {@link ScriptStatusResponse} in wire form, with its `$type`. */
export const encodeScriptStatusResponse = (s: ScriptStatusResponse): WireDocument => typed('ScriptStatusResponse', status(s));

/** Encodes a {@link StartScriptCommandV2} in wire form, with its `$type`. */
export const encodeStartScriptCommandV2 = (c: StartScriptCommandV2): WireDocument =>
  typed('StartScriptCommandV2', {
    ScriptTicket: ticket(c.ScriptTicket),
    ScriptBody: c.ScriptBody,
    TaskId: c.TaskId,
    DurationToWaitForScriptToFinish: c.DurationToWaitForScriptToFinish,
    Isolation: c.Isolation,
    ScriptIsolationMutexTimeout: c.ScriptIsolationMutexTimeout,
    IsolationMutexName: c.IsolationMutexName,
    Scripts: { ...c.Scripts },
    Files: c.Files.map(file),
    Arguments: [...c.Arguments],
  });

/** Encodes a {@link ScriptStatusRequestV2} in wire form, with its `$type`. */
export const encodeScriptStatusRequestV2 = (c: TicketAndSequence): WireDocument => typed('ScriptStatusRequestV2', ticketAndSequence(c));
/** Encodes a {@link CancelScriptCommandV2} in wire form, with its `$type`. */
export const encodeCancelScriptCommandV2 = (c: TicketAndSequence): WireDocument => typed('CancelScriptCommandV2', ticketAndSequence(c));
/** Encodes a {@link CompleteScriptCommandV2} in wire form, with its `$type`. */
export const encodeCompleteScriptCommandV2 = (c: CompleteScriptCommandV2): WireDocument => typed('CompleteScriptCommandV2', { Ticket: ticket(c.Ticket) });
/** Encodes a {@link ScriptStatusResponseV2} in wire form, with its `$type`. */
export const encodeScriptStatusResponseV2 = (s: ScriptStatusResponse): WireDocument => typed('ScriptStatusResponseV2', status(s));

/** Encodes a {@link UploadResult} in wire form, with its `$type`. */
export const encodeUploadResult = (r: UploadResult): WireDocument => typed('UploadResult', { FullPath: r.FullPath, Hash: r.Hash, Length: new Int64(r.Length) });

/** Encodes a {@link CapabilitiesResponseV2} in wire form, with its `$type`. */
export const encodeCapabilitiesResponseV2 = (r: CapabilitiesResponseV2): WireDocument =>
  typed('CapabilitiesResponseV2', { SupportedCapabilities: [...r.SupportedCapabilities] });

const kubernetesTicketAndSequence = (c: KubernetesTicketAndSequence): WireDocument => ({
  ScriptTicket: ticket(c.ScriptTicket),
  LastLogSequence: new Int64(c.LastLogSequence),
});

/** Encodes a {@link StartKubernetesScriptCommandV1} in wire form, with its `$type`. */
export const encodeStartKubernetesScriptCommandV1 = (c: StartKubernetesScriptCommandV1): WireDocument =>
  typed('StartKubernetesScriptCommandV1', {
    ScriptTicket: ticket(c.ScriptTicket),
    TaskId: c.TaskId,
    ScriptBody: c.ScriptBody,
    Arguments: [...c.Arguments],
    Isolation: c.Isolation,
    ScriptIsolationMutexTimeout: c.ScriptIsolationMutexTimeout,
    IsolationMutexName: c.IsolationMutexName,
    PodImageConfiguration: c.PodImageConfiguration === null ? null : { ...c.PodImageConfiguration },
    ScriptPodServiceAccountName: c.ScriptPodServiceAccountName,
    Scripts: { ...c.Scripts },
    Files: c.Files.map(file),
    IsRawScript: c.IsRawScript,
    AuthContext: c.AuthContext === null ? null : { ...c.AuthContext },
    ScriptPodPlatform: c.ScriptPodPlatform,
    CalamariImageConfiguration: c.CalamariImageConfiguration === null ? null : { ...c.CalamariImageConfiguration },
  });

/** Encodes a {@link KubernetesScriptStatusRequestV1} in wire form, with its `$type`. */
export const encodeKubernetesScriptStatusRequestV1 = (c: KubernetesTicketAndSequence): WireDocument =>
  typed('KubernetesScriptStatusRequestV1', kubernetesTicketAndSequence(c));
/** Encodes a {@link CancelKubernetesScriptCommandV1} in wire form, with its `$type`. */
export const encodeCancelKubernetesScriptCommandV1 = (c: KubernetesTicketAndSequence): WireDocument =>
  typed('CancelKubernetesScriptCommandV1', kubernetesTicketAndSequence(c));
/** Encodes a {@link CompleteKubernetesScriptCommandV1} in wire form, with its `$type`. */
export const encodeCompleteKubernetesScriptCommandV1 = (c: CompleteKubernetesScriptCommandV1): WireDocument =>
  typed('CompleteKubernetesScriptCommandV1', { ScriptTicket: ticket(c.ScriptTicket) });
/** Encodes a {@link KubernetesScriptStatusResponseV1} in wire form, with its `$type`. */
export const encodeKubernetesScriptStatusResponseV1 = (s: KubernetesScriptStatusResponseV1): WireDocument =>
  typed('KubernetesScriptStatusResponseV1', {
    ScriptTicket: ticket(s.ScriptTicket),
    Logs: s.Logs.map(output),
    NextLogSequence: new Int64(s.NextLogSequence),
    State: s.State,
    ExitCode: s.ExitCode,
  });
