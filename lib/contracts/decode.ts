/**
 * Wire values to contract objects, checked. A received value is decoded by the type the method is known to return
 * (or take), so the `$type` is only checked, never relied on: either name of a legacy-mapped type is accepted, an
 * absent `$type` is accepted, and a `$type` naming another type is refused. Anything missing or of the wrong kind
 * fails with a {@link ContractError} that says where.
 */
import { DataStream } from '../protocol/data-stream.js';
import { Int32, Int64, TimeSpan } from '../protocol/dotnet-values.js';
import type {
  CapabilitiesResponseV2,
  CompleteKubernetesScriptCommandV1,
  CompleteScriptCommandV2,
  KubernetesScriptStatusResponseV1,
  KubernetesTicketAndSequence,
  ProcessOutput,
  ScriptBodies,
  ScriptFile,
  ScriptStatusResponse,
  ScriptTicket,
  StartKubernetesScriptCommandV1,
  StartScriptCommand,
  StartScriptCommandV2,
  StartScriptFields,
  TicketAndSequence,
  UploadResult,
} from './dtos.js';
import { ProcessOutputSource, ProcessState, ScriptIsolationLevel, ScriptType, type ScriptTypeName } from './enums.js';
import { ContractError } from './errors.js';
import { isContractType, type ContractTypeName } from './type-names.js';

/** Reads one contract value, remembering which type it is reading so that errors can say so. */
class Reader {
  constructor(
    readonly type: string,
    readonly value: unknown,
    readonly path: string,
  ) {}

  fail(problem: string, path = this.path): never {
    throw new ContractError(this.type, path, problem);
  }

  object(): Record<string, unknown> {
    const v = this.value;
    if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof DataStream || v instanceof Date) this.fail(`must be an object, got ${describe(v)}`);
    return v as Record<string, unknown>;
  }

  field(name: string): Reader {
    return new Reader(this.type, this.object()[name], `${this.path}.${name}`);
  }

  string(): string {
    if (typeof this.value !== 'string') this.fail(`must be a string, got ${describe(this.value)}`);
    return this.value;
  }

  nullableString(): string | null {
    return this.value === null || this.value === undefined ? null : this.string();
  }

  integer(): number {
    const v = this.value;
    const n = v instanceof Int32 ? v.value : v instanceof Int64 ? Number(v.value) : typeof v === 'bigint' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) this.fail(`must be a whole number, got ${describe(v)}`);
    return n;
  }

  oneOf<T extends number>(values: Readonly<Record<string, T>>): T {
    const n = this.integer();
    if (!Object.values(values).includes(n as T)) this.fail(`must be one of ${Object.values(values).join(', ')}, got ${n}`);
    return n as T;
  }

  boolean(): boolean {
    if (typeof this.value !== 'boolean') this.fail(`must be true or false, got ${describe(this.value)}`);
    return this.value;
  }

  date(): Date {
    if (!(this.value instanceof Date) || Number.isNaN(this.value.getTime())) this.fail(`must be a date, got ${describe(this.value)}`);
    return this.value;
  }

  timeSpan(): TimeSpan {
    if (this.value instanceof TimeSpan) return this.value;
    try {
      return TimeSpan.parse(this.string());
    } catch (err) {
      if (err instanceof ContractError) throw err;
      return this.fail(`must be a TimeSpan such as "00:05:00", got ${describe(this.value)}`);
    }
  }

  nullableTimeSpan(): TimeSpan | null {
    return this.value === null || this.value === undefined ? null : this.timeSpan();
  }

  array<T>(item: (r: Reader) => T): T[] {
    if (!Array.isArray(this.value)) this.fail(`must be an array, got ${describe(this.value)}`);
    return this.value.map((v: unknown, i) => item(new Reader(this.type, v, `${this.path}[${i}]`)));
  }

  /** An array that may be absent or null (Json.NET populates get-only collections, so senders may omit them). */
  optionalArray<T>(item: (r: Reader) => T): T[] {
    return this.value === null || this.value === undefined ? [] : this.array(item);
  }

  dataStream(): DataStream {
    if (!(this.value instanceof DataStream)) this.fail(`must be a DataStream, got ${describe(this.value)}`);
    return this.value;
  }

  /** Checks the `$type` of a value in a `params` slot or the `result`. */
  topLevel(name: ContractTypeName): this {
    const typeName = this.object()['$type'];
    if (typeName !== undefined && !isContractType(typeName, name)) this.fail(`has $type ${typeof typeName === 'string' ? `'${typeName}'` : describe(typeName)}`, `${this.path}.$type`);
    return this;
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof DataStream) return 'a DataStream';
  if (v instanceof Date) return 'a date';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `${typeof v} ${v}`;
  return typeof v;
}

const ticket = (r: Reader): ScriptTicket => ({ TaskId: r.field('TaskId').string() });

const scriptFile = (r: Reader): ScriptFile => ({
  Name: r.field('Name').string(),
  Contents: r.field('Contents').dataStream(),
  EncryptionPassword: r.field('EncryptionPassword').nullableString(),
});

const processOutput = (r: Reader): ProcessOutput => ({
  Source: r.field('Source').oneOf(ProcessOutputSource),
  Occurred: r.field('Occurred').date(),
  Text: r.field('Text').string(),
});

function scriptBodies(r: Reader): ScriptBodies {
  if (r.value === null || r.value === undefined) return {};
  const out: ScriptBodies = {};
  for (const [key, body] of Object.entries(r.object())) {
    if (!Object.hasOwn(ScriptType, key)) r.fail(`has an unknown script type '${key}'`);
    out[key as ScriptTypeName] = new Reader(r.type, body, `${r.path}.${key}`).string();
  }
  return out;
}

function startFields(r: Reader): StartScriptFields {
  return {
    ScriptBody: r.field('ScriptBody').string(),
    Isolation: r.field('Isolation').oneOf(ScriptIsolationLevel),
    ScriptIsolationMutexTimeout: r.field('ScriptIsolationMutexTimeout').timeSpan(),
    IsolationMutexName: r.field('IsolationMutexName').nullableString(),
    Scripts: scriptBodies(r.field('Scripts')),
    Files: r.field('Files').optionalArray(scriptFile),
    Arguments: r.field('Arguments').optionalArray((a) => a.string()),
  };
}

const ticketAndSequence = (r: Reader): TicketAndSequence => ({ Ticket: ticket(r.field('Ticket')), LastLogSequence: r.field('LastLogSequence').integer() });

function status(r: Reader): ScriptStatusResponse {
  return {
    Ticket: ticket(r.field('Ticket')),
    Logs: r.field('Logs').optionalArray(processOutput),
    NextLogSequence: r.field('NextLogSequence').integer(),
    State: r.field('State').oneOf(ProcessState),
    ExitCode: r.field('ExitCode').integer(),
  };
}

/** Makes a decoder for a top-level contract value. */
const decoder =
  <T>(name: ContractTypeName, read: (r: Reader) => T) =>
  (value: unknown, path = 'value'): T =>
    read(new Reader(name, value, path).topLevel(name));

/** Decodes a received {@link StartScriptCommand}; throws a {@link ContractError} saying where when it does not fit. */
export const decodeStartScriptCommand = decoder('StartScriptCommand', (r): StartScriptCommand => ({ ...startFields(r), TaskId: r.field('TaskId').nullableString() }));
/** Decodes a received {@link ScriptStatusRequest}; throws a {@link ContractError} saying where when it does not fit. */
export const decodeScriptStatusRequest = decoder('ScriptStatusRequest', ticketAndSequence);
/** Decodes a received {@link CancelScriptCommand}; throws a {@link ContractError} saying where when it does not fit. */
export const decodeCancelScriptCommand = decoder('CancelScriptCommand', ticketAndSequence);
/** Decodes a received {@link CompleteScriptCommand}; throws a {@link ContractError} saying where when it does not fit. */
export const decodeCompleteScriptCommand = decoder('CompleteScriptCommand', ticketAndSequence);
/** Decodes a received {@link ScriptTicket}; throws a {@link ContractError} saying where when it does not fit. */
export const decodeScriptTicket = decoder('ScriptTicket', ticket);
/** Decodes a received {@link ScriptStatusResponse}; throws a {@link ContractError} saying where when it does not fit. */
export const decodeScriptStatusResponse = decoder('ScriptStatusResponse', status);

/** Decodes a received {@link StartScriptCommandV2}; throws a {@link ContractError} saying where when it does not fit. */
export const decodeStartScriptCommandV2 = decoder(
  'StartScriptCommandV2',
  (r): StartScriptCommandV2 => ({
    ...startFields(r),
    ScriptTicket: ticket(r.field('ScriptTicket')),
    TaskId: r.field('TaskId').string(),
    DurationToWaitForScriptToFinish: r.field('DurationToWaitForScriptToFinish').nullableTimeSpan(),
  }),
);
/** Decodes a received {@link ScriptStatusRequestV2}; throws a {@link ContractError} saying where when it does not fit. */
export const decodeScriptStatusRequestV2 = decoder('ScriptStatusRequestV2', ticketAndSequence);
/** Decodes a received {@link CancelScriptCommandV2}; throws a {@link ContractError} saying where when it does not fit. */
export const decodeCancelScriptCommandV2 = decoder('CancelScriptCommandV2', ticketAndSequence);
/** Decodes a received {@link CompleteScriptCommandV2}; throws a {@link ContractError} saying where when it does not fit. */
export const decodeCompleteScriptCommandV2 = decoder('CompleteScriptCommandV2', (r): CompleteScriptCommandV2 => ({ Ticket: ticket(r.field('Ticket')) }));
/** Decodes a received {@link ScriptStatusResponseV2}; throws a {@link ContractError} saying where when it does not fit. */
export const decodeScriptStatusResponseV2 = decoder('ScriptStatusResponseV2', status);

/** Decodes a received {@link UploadResult}; throws a {@link ContractError} saying where when it does not fit. */
export const decodeUploadResult = decoder(
  'UploadResult',
  (r): UploadResult => ({ FullPath: r.field('FullPath').string(), Hash: r.field('Hash').nullableString(), Length: r.field('Length').integer() }),
);

/** Decodes a received {@link CapabilitiesResponseV2}; throws a {@link ContractError} saying where when it does not fit. */
export const decodeCapabilitiesResponseV2 = decoder(
  'CapabilitiesResponseV2',
  (r): CapabilitiesResponseV2 => ({ SupportedCapabilities: r.field('SupportedCapabilities').optionalArray((c) => c.string()) }),
);

const kubernetesTicketAndSequence = (r: Reader): KubernetesTicketAndSequence => ({
  ScriptTicket: ticket(r.field('ScriptTicket')),
  LastLogSequence: r.field('LastLogSequence').integer(),
});

const nullableObject = <T>(r: Reader, read: (o: Reader) => T): T | null => (r.value === null || r.value === undefined ? null : read(r));

/** Decodes a received {@link StartKubernetesScriptCommandV1}; throws a {@link ContractError} saying where when it does not fit. */
export const decodeStartKubernetesScriptCommandV1 = decoder(
  'StartKubernetesScriptCommandV1',
  (r): StartKubernetesScriptCommandV1 => ({
    ScriptTicket: ticket(r.field('ScriptTicket')),
    TaskId: r.field('TaskId').string(),
    ScriptBody: r.field('ScriptBody').string(),
    Arguments: r.field('Arguments').optionalArray((a) => a.string()),
    Isolation: r.field('Isolation').oneOf(ScriptIsolationLevel),
    ScriptIsolationMutexTimeout: r.field('ScriptIsolationMutexTimeout').timeSpan(),
    IsolationMutexName: r.field('IsolationMutexName').nullableString(),
    PodImageConfiguration: nullableObject(r.field('PodImageConfiguration'), (p) => ({
      Image: p.field('Image').nullableString(),
      FeedUrl: p.field('FeedUrl').nullableString(),
      FeedUsername: p.field('FeedUsername').nullableString(),
      FeedPassword: p.field('FeedPassword').nullableString(),
    })),
    ScriptPodServiceAccountName: r.field('ScriptPodServiceAccountName').nullableString(),
    Scripts: scriptBodies(r.field('Scripts')),
    Files: r.field('Files').optionalArray(scriptFile),
    IsRawScript: r.field('IsRawScript').boolean(),
    AuthContext: nullableObject(r.field('AuthContext'), (a) => ({
      SpaceSlug: a.field('SpaceSlug').string(),
      ProjectSlug: a.field('ProjectSlug').string(),
      ProjectGroupSlug: a.field('ProjectGroupSlug').nullableString(),
      EnvironmentSlug: a.field('EnvironmentSlug').string(),
      TenantSlug: a.field('TenantSlug').nullableString(),
      StepSlug: a.field('StepSlug').string(),
    })),
    ScriptPodPlatform: r.field('ScriptPodPlatform').nullableString(),
    CalamariImageConfiguration: nullableObject(r.field('CalamariImageConfiguration'), (c) => ({
      Name: c.field('Name').string(),
      Version: c.field('Version').string(),
    })),
  }),
);
/** Decodes a received {@link KubernetesScriptStatusRequestV1}; throws a {@link ContractError} saying where when it does not fit. */
export const decodeKubernetesScriptStatusRequestV1 = decoder('KubernetesScriptStatusRequestV1', kubernetesTicketAndSequence);
/** Decodes a received {@link CancelKubernetesScriptCommandV1}; throws a {@link ContractError} saying where when it does not fit. */
export const decodeCancelKubernetesScriptCommandV1 = decoder('CancelKubernetesScriptCommandV1', kubernetesTicketAndSequence);
/** Decodes a received {@link CompleteKubernetesScriptCommandV1}; throws a {@link ContractError} saying where when it does not fit. */
export const decodeCompleteKubernetesScriptCommandV1 = decoder(
  'CompleteKubernetesScriptCommandV1',
  (r): CompleteKubernetesScriptCommandV1 => ({ ScriptTicket: ticket(r.field('ScriptTicket')) }),
);
/** Decodes a received {@link KubernetesScriptStatusResponseV1}; throws a {@link ContractError} saying where when it does not fit. */
export const decodeKubernetesScriptStatusResponseV1 = decoder(
  'KubernetesScriptStatusResponseV1',
  (r): KubernetesScriptStatusResponseV1 => ({
    ScriptTicket: ticket(r.field('ScriptTicket')),
    Logs: r.field('Logs').optionalArray(processOutput),
    NextLogSequence: r.field('NextLogSequence').integer(),
    State: r.field('State').oneOf(ProcessState),
    ExitCode: r.field('ExitCode').integer(),
  }),
);
