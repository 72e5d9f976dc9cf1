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

export const encodeScriptStatusRequest = (c: TicketAndSequence): WireDocument => typed('ScriptStatusRequest', ticketAndSequence(c));
export const encodeCancelScriptCommand = (c: TicketAndSequence): WireDocument => typed('CancelScriptCommand', ticketAndSequence(c));
export const encodeCompleteScriptCommand = (c: TicketAndSequence): WireDocument => typed('CompleteScriptCommand', ticketAndSequence(c));
export const encodeScriptTicket = (t: ScriptTicket): WireDocument => typed('ScriptTicket', ticket(t));
export const encodeScriptStatusResponse = (s: ScriptStatusResponse): WireDocument => typed('ScriptStatusResponse', status(s));

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

export const encodeScriptStatusRequestV2 = (c: TicketAndSequence): WireDocument => typed('ScriptStatusRequestV2', ticketAndSequence(c));
export const encodeCancelScriptCommandV2 = (c: TicketAndSequence): WireDocument => typed('CancelScriptCommandV2', ticketAndSequence(c));
export const encodeCompleteScriptCommandV2 = (c: CompleteScriptCommandV2): WireDocument => typed('CompleteScriptCommandV2', { Ticket: ticket(c.Ticket) });
export const encodeScriptStatusResponseV2 = (s: ScriptStatusResponse): WireDocument => typed('ScriptStatusResponseV2', status(s));

export const encodeUploadResult = (r: UploadResult): WireDocument => typed('UploadResult', { FullPath: r.FullPath, Hash: r.Hash, Length: new Int64(r.Length) });

export const encodeCapabilitiesResponseV2 = (r: CapabilitiesResponseV2): WireDocument =>
  typed('CapabilitiesResponseV2', { SupportedCapabilities: [...r.SupportedCapabilities] });

const kubernetesTicketAndSequence = (c: KubernetesTicketAndSequence): WireDocument => ({
  ScriptTicket: ticket(c.ScriptTicket),
  LastLogSequence: new Int64(c.LastLogSequence),
});

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

export const encodeKubernetesScriptStatusRequestV1 = (c: KubernetesTicketAndSequence): WireDocument =>
  typed('KubernetesScriptStatusRequestV1', kubernetesTicketAndSequence(c));
export const encodeCancelKubernetesScriptCommandV1 = (c: KubernetesTicketAndSequence): WireDocument =>
  typed('CancelKubernetesScriptCommandV1', kubernetesTicketAndSequence(c));
export const encodeCompleteKubernetesScriptCommandV1 = (c: CompleteKubernetesScriptCommandV1): WireDocument =>
  typed('CompleteKubernetesScriptCommandV1', { ScriptTicket: ticket(c.ScriptTicket) });
export const encodeKubernetesScriptStatusResponseV1 = (s: KubernetesScriptStatusResponseV1): WireDocument =>
  typed('KubernetesScriptStatusResponseV1', {
    ScriptTicket: ticket(s.ScriptTicket),
    Logs: s.Logs.map(output),
    NextLogSequence: new Int64(s.NextLogSequence),
    State: s.State,
    ExitCode: s.ExitCode,
  });
