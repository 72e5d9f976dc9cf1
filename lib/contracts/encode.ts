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

type Wire = Record<string, unknown>;

const typed = (name: ContractTypeName, body: Wire): Wire => ({ $type: TypeNames[name], ...body });

const ticket = (t: ScriptTicket): Wire => ({ TaskId: t.TaskId });

const file = (f: ScriptFile): Wire => ({ Name: f.Name, Contents: f.Contents, EncryptionPassword: f.EncryptionPassword });

const output = (o: ProcessOutput): Wire => ({ Source: o.Source, Occurred: o.Occurred, Text: o.Text });

const ticketAndSequence = (c: TicketAndSequence): Wire => ({ Ticket: ticket(c.Ticket), LastLogSequence: new Int64(c.LastLogSequence) });

const status = (s: ScriptStatusResponse): Wire => ({
  Ticket: ticket(s.Ticket),
  Logs: s.Logs.map(output),
  NextLogSequence: new Int64(s.NextLogSequence),
  State: s.State,
  ExitCode: s.ExitCode,
});

export const encodeStartScriptCommand = (c: StartScriptCommand): Wire =>
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

export const encodeScriptStatusRequest = (c: TicketAndSequence): Wire => typed('ScriptStatusRequest', ticketAndSequence(c));
export const encodeCancelScriptCommand = (c: TicketAndSequence): Wire => typed('CancelScriptCommand', ticketAndSequence(c));
export const encodeCompleteScriptCommand = (c: TicketAndSequence): Wire => typed('CompleteScriptCommand', ticketAndSequence(c));
export const encodeScriptTicket = (t: ScriptTicket): Wire => typed('ScriptTicket', ticket(t));
export const encodeScriptStatusResponse = (s: ScriptStatusResponse): Wire => typed('ScriptStatusResponse', status(s));

export const encodeStartScriptCommandV2 = (c: StartScriptCommandV2): Wire =>
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

export const encodeScriptStatusRequestV2 = (c: TicketAndSequence): Wire => typed('ScriptStatusRequestV2', ticketAndSequence(c));
export const encodeCancelScriptCommandV2 = (c: TicketAndSequence): Wire => typed('CancelScriptCommandV2', ticketAndSequence(c));
export const encodeCompleteScriptCommandV2 = (c: CompleteScriptCommandV2): Wire => typed('CompleteScriptCommandV2', { Ticket: ticket(c.Ticket) });
export const encodeScriptStatusResponseV2 = (s: ScriptStatusResponse): Wire => typed('ScriptStatusResponseV2', status(s));

export const encodeUploadResult = (r: UploadResult): Wire => typed('UploadResult', { FullPath: r.FullPath, Hash: r.Hash, Length: new Int64(r.Length) });

export const encodeCapabilitiesResponseV2 = (r: CapabilitiesResponseV2): Wire =>
  typed('CapabilitiesResponseV2', { SupportedCapabilities: [...r.SupportedCapabilities] });

const kubernetesTicketAndSequence = (c: KubernetesTicketAndSequence): Wire => ({
  ScriptTicket: ticket(c.ScriptTicket),
  LastLogSequence: new Int64(c.LastLogSequence),
});

export const encodeStartKubernetesScriptCommandV1 = (c: StartKubernetesScriptCommandV1): Wire =>
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

export const encodeKubernetesScriptStatusRequestV1 = (c: KubernetesTicketAndSequence): Wire =>
  typed('KubernetesScriptStatusRequestV1', kubernetesTicketAndSequence(c));
export const encodeCancelKubernetesScriptCommandV1 = (c: KubernetesTicketAndSequence): Wire =>
  typed('CancelKubernetesScriptCommandV1', kubernetesTicketAndSequence(c));
export const encodeCompleteKubernetesScriptCommandV1 = (c: CompleteKubernetesScriptCommandV1): Wire =>
  typed('CompleteKubernetesScriptCommandV1', { ScriptTicket: ticket(c.ScriptTicket) });
export const encodeKubernetesScriptStatusResponseV1 = (s: KubernetesScriptStatusResponseV1): Wire =>
  typed('KubernetesScriptStatusResponseV1', {
    ScriptTicket: ticket(s.ScriptTicket),
    Logs: s.Logs.map(output),
    NextLogSequence: new Int64(s.NextLogSequence),
    State: s.State,
    ExitCode: s.ExitCode,
  });
