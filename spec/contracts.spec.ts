// The Tentacle contract types against messages a real Tentacle's serializer wrote: every builder reproduces its
// golden vector byte for byte (so the `$type` strings, legacy names, key order and BSON types are exactly a
// Tentacle's), every decoder reads the vector back into the contract object, and the argument quoting survives
// .NET's command-line splitting.
import assert from 'node:assert/strict';
import { inflateRawSync } from 'node:zlib';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ContractError,
  decodeCancelKubernetesScriptCommandV1,
  decodeCancelScriptCommand,
  decodeCompleteKubernetesScriptCommandV1,
  decodeKubernetesScriptStatusRequestV1,
  decodeKubernetesScriptStatusResponseV1,
  decodeStartKubernetesScriptCommandV1,
  encodeCancelKubernetesScriptCommandV1,
  encodeCancelScriptCommand,
  encodeCompleteKubernetesScriptCommandV1,
  encodeKubernetesScriptStatusRequestV1,
  encodeKubernetesScriptStatusResponseV1,
  encodeStartKubernetesScriptCommandV1,
  type StartKubernetesScriptCommandV1,
  ProcessOutputSource,
  ProcessState,
  ScriptIsolationLevel,
  TypeNames,
  decodeCancelScriptCommandV2,
  decodeCapabilitiesResponseV2,
  decodeCompleteScriptCommand,
  decodeCompleteScriptCommandV2,
  decodeScriptStatusRequest,
  decodeScriptStatusRequestV2,
  decodeScriptStatusResponse,
  decodeScriptStatusResponseV2,
  decodeScriptTicket,
  decodeStartScriptCommand,
  decodeStartScriptCommandV2,
  decodeUploadResult,
  encodeCancelScriptCommandV2,
  encodeCapabilitiesResponseV2,
  encodeCompleteScriptCommand,
  encodeCompleteScriptCommandV2,
  encodeScriptStatusRequest,
  encodeScriptStatusRequestV2,
  encodeScriptStatusResponse,
  encodeScriptStatusResponseV2,
  encodeScriptTicket,
  encodeStartScriptCommand,
  encodeStartScriptCommandV2,
  encodeUploadResult,
  isContractType,
  isSafeTicket,
  newScriptTicket,
  quoteArgument,
  quoteArguments,
  splitCommandLine,
  type ProcessOutput,
  type ScriptStatusResponse,
  type StartScriptCommand,
  type StartScriptCommandV2,
} from '../lib/contracts/index.js';
import { DataStream, type IncomingStreamSource } from '../lib/protocol/data-stream.js';
import { Guid, TimeSpan } from '../lib/protocol/dotnet-values.js';
import { bindStreams, decodeMessage, encodeRequest, encodeResponse, type RequestMessage } from '../lib/protocol/message-codec.js';
import { fromVectorJson, loadVectors, type Vector } from './support/vectors.js';

const vectors = new Map<string, Vector>(loadVectors('tentacle-4.4.8').map((v) => [v.file.replace(/\.(deflate|wire)$/, ''), v]));

const noSource: IncomingStreamSource = {
  open: () => {
    throw new Error('not read in these tests');
  },
  discard: async () => undefined,
};

/** A DataStream with the id and length a vector gives, as the codec would bind it. */
function streamLike(idHex: string, length: number): DataStream {
  return DataStream.incoming(Guid.fromDotnetBytes(Buffer.from(idHex, 'hex')), length, noSource);
}

function vector(name: string): Vector {
  const v = vectors.get(name);
  assert.ok(v, `vector ${name} exists`);
  return v;
}

function message(v: Vector): Record<string, unknown> {
  return (fromVectorJson(v.document) as { Message: Record<string, unknown> }).Message;
}

/** Encodes a request with the vector's id, activity and endpoint and our params, and compares the bytes. */
function assertRequestBytes(name: string, params: unknown[]): void {
  const v = vector(name);
  const m = message(v);
  const request: RequestMessage = {
    id: m['id'] as string,
    activityId: m['activityId'] as Guid,
    endpoint: m['endpoint'] as Record<string, unknown>,
    service: m['service'] as string,
    method: m['method'] as string,
    params,
  };
  assert.equal(encodeRequest(request).bson.toString('hex'), v.bsonHex);
}

function assertResponseBytes(name: string, result: unknown): void {
  const v = vector(name);
  const m = message(v);
  assert.equal(encodeResponse({ id: m['id'] as string, error: null, result }).bson.toString('hex'), v.bsonHex);
}

/** Decodes a vector as the client would receive it, DataStreams bound to placeholders. */
function received(name: string): { params: unknown[]; result: unknown } {
  const v = vector(name);
  const bson = inflateRawSync(v.deflateBytes === undefined ? v.wire : v.wire.subarray(0, v.deflateBytes));
  const decoded = decodeMessage(bson);
  bindStreams(
    decoded,
    decoded.streams.map((s) => DataStream.incoming(s.id, s.length, noSource)),
  );
  return decoded.kind === 'request' ? { params: decoded.message.params, result: undefined } : { params: [], result: decoded.message.result };
}

const ticketV2 = { TaskId: 'GkzVrD6pE0ivh1NGcfQyA' };
const ticketV1 = { TaskId: '20240501120000-1234-1' };
const at = (iso: string): Date => new Date(iso);

const startV2 = (): StartScriptCommandV2 => ({
  ScriptTicket: ticketV2,
  ScriptBody: 'echo "hello $1"\ncat data.txt\nexit 3',
  TaskId: 'ServerTasks-1234',
  DurationToWaitForScriptToFinish: TimeSpan.fromSeconds(5),
  Isolation: ScriptIsolationLevel.FullIsolation,
  ScriptIsolationMutexTimeout: TimeSpan.fromMilliseconds(2 ** 31 - 1),
  IsolationMutexName: 'RunningScript',
  Scripts: { Bash: 'echo "hello $1"\ncat data.txt\nexit 3' },
  Files: [{ Name: 'data.txt', Contents: streamLike('ff19966f868b11d0b42d00c04fc964ff', 21), EncryptionPassword: null }],
  Arguments: ['world', '"two words"'],
});

const startV1 = (): StartScriptCommand => ({
  ScriptBody: 'echo v1',
  Isolation: ScriptIsolationLevel.NoIsolation,
  Scripts: {},
  Files: [],
  Arguments: [],
  TaskId: 'ServerTasks-1234',
  ScriptIsolationMutexTimeout: TimeSpan.fromSeconds(60),
  IsolationMutexName: null,
});

const log = (source: ProcessOutput['Source'], iso: string, text: string): ProcessOutput => ({ Source: source, Occurred: at(iso), Text: text });
const statusV2 = (): ScriptStatusResponse => ({
  Ticket: ticketV2,
  Logs: [
    log(ProcessOutputSource.StdOut, '2024-05-01T12:00:00.123Z', '##octopus[stdout-verbose]'),
    log(ProcessOutputSource.StdOut, '2024-05-01T12:00:00.123Z', 'Acquiring isolation mutex RunningScript with FullIsolation in ServerTasks-1234'),
    log(ProcessOutputSource.StdOut, '2024-05-01T12:00:00.123Z', '##octopus[stdout-default]'),
    log(
      ProcessOutputSource.Debug,
      '2024-05-01T12:00:00.127Z',
      "Starting /bin/bash in working directory '/home/tentacle/Work/GkzVrD6pE0ivh1NGcfQyA' using 'Unicode (UTF-8)' encoding running as 'tentacle'",
    ),
    log(ProcessOutputSource.StdOut, '2024-05-01T12:00:00.153Z', 'hello world'),
    log(ProcessOutputSource.StdErr, '2024-05-01T12:00:00.154Z', 'warning: something on stderr'),
    log(ProcessOutputSource.Debug, '2024-05-01T12:00:00.158Z', 'Process /bin/bash in /home/tentacle/Work/GkzVrD6pE0ivh1NGcfQyA exited with code 3'),
  ],
  NextLogSequence: 7,
  State: ProcessState.Complete,
  ExitCode: 3,
});
const statusV1 = (): ScriptStatusResponse => ({ ...statusV2(), Ticket: ticketV1, Logs: statusV2().Logs.slice(0, 2), NextLogSequence: 2, ExitCode: 0 });

/** Comparable form: DataStreams by id and length, TimeSpans by text. */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}

describe('Tentacle contracts: requests byte for byte as a Tentacle writes them', () => {
  it('IScriptServiceV2.StartScript with a script file, arguments and the default mutex timeout', () => {
    assertRequestBytes('request-startscriptv2', [encodeStartScriptCommandV2(startV2())]);
    assert.deepEqual(plain(decodeStartScriptCommandV2(received('request-startscriptv2').params[0])), plain(startV2()));
  });

  it('IScriptServiceV2.GetStatus, CancelScript and CompleteScript', () => {
    assertRequestBytes('request-getstatusv2', [encodeScriptStatusRequestV2({ Ticket: ticketV2, LastLogSequence: 7 })]);
    assertRequestBytes('request-cancelscriptv2', [encodeCancelScriptCommandV2({ Ticket: ticketV2, LastLogSequence: 12 })]);
    assertRequestBytes('request-completescriptv2', [encodeCompleteScriptCommandV2({ Ticket: ticketV2 })]);
    assert.deepEqual(decodeScriptStatusRequestV2(received('request-getstatusv2').params[0]), { Ticket: ticketV2, LastLogSequence: 7 });
    assert.deepEqual(decodeCancelScriptCommandV2(received('request-cancelscriptv2').params[0]), { Ticket: ticketV2, LastLogSequence: 12 });
    assert.deepEqual(decodeCompleteScriptCommandV2(received('request-completescriptv2').params[0]), { Ticket: ticketV2 });
  });

  it('IScriptService (V1) commands carry the legacy Octopus.Shared names', () => {
    assertRequestBytes('request-startscript-v1', [encodeStartScriptCommand(startV1())]);
    assertRequestBytes('request-getstatus-v1', [encodeScriptStatusRequest({ Ticket: ticketV1, LastLogSequence: 0 })]);
    assertRequestBytes('request-completescript-v1', [encodeCompleteScriptCommand({ Ticket: ticketV1, LastLogSequence: 9 })]);
    assert.equal(encodeStartScriptCommand(startV1())['$type'], 'Octopus.Shared.Contracts.StartScriptCommand, Octopus.Shared');
    assert.deepEqual(plain(decodeStartScriptCommand(received('request-startscript-v1').params[0])), plain(startV1()));
    assert.deepEqual(decodeScriptStatusRequest(received('request-getstatus-v1').params[0]), { Ticket: ticketV1, LastLogSequence: 0 });
    assert.deepEqual(decodeCompleteScriptCommand(received('request-completescript-v1').params[0]), { Ticket: ticketV1, LastLogSequence: 9 });
  });

  it('IFileTransferService.UploadFile and DownloadFile', () => {
    assertRequestBytes('request-uploadfile', ['uploads/package.zip', streamLike('e004253f894fd3119a0c0305e82c3301', 10)]);
    assertRequestBytes('request-downloadfile', ['uploads/package.zip']);
  });

  it('ICapabilitiesServiceV2.GetCapabilities with an empty params array', () => {
    assertRequestBytes('request-getcapabilities', []);
  });
});

describe('Tentacle contracts: responses byte for byte, and read back', () => {
  it('ScriptStatusResponseV2 with seven log lines and exit code 3', () => {
    assertResponseBytes('response-scriptstatusv2', encodeScriptStatusResponseV2(statusV2()));
    assert.deepEqual(decodeScriptStatusResponseV2(received('response-scriptstatusv2').result), statusV2());
  });

  it('a running V2 script with no new logs', () => {
    const status = decodeScriptStatusResponseV2(received('response-scriptstatusv2-running-nologs').result);
    assert.equal(status.State, ProcessState.Running);
    assert.deepEqual(status.Logs, []);
    assertResponseBytes('response-scriptstatusv2-running-nologs', encodeScriptStatusResponseV2(status));
  });

  it('the V1 ticket and status carry the legacy names', () => {
    assertResponseBytes('response-scriptticket-v1', encodeScriptTicket(ticketV1));
    assertResponseBytes('response-scriptstatus-v1', encodeScriptStatusResponse(statusV1()));
    assert.deepEqual(decodeScriptTicket(received('response-scriptticket-v1').result), ticketV1);
    assert.deepEqual(decodeScriptStatusResponse(received('response-scriptstatus-v1').result), statusV1());
  });

  it('UploadResult (legacy name, lowercase SHA-1, int64 length) and CapabilitiesResponseV2', () => {
    const upload = { FullPath: '/home/tentacle/uploads/package.zip', Hash: '87acec17cd9dcd20a716cc2cf67417b71c8a7016', Length: 10 };
    assertResponseBytes('response-uploadresult', encodeUploadResult(upload));
    assert.deepEqual(decodeUploadResult(received('response-uploadresult').result), upload);
    const capabilities = { SupportedCapabilities: ['IScriptService', 'IFileTransferService', 'IScriptServiceV2'] };
    assertResponseBytes('response-capabilities', encodeCapabilitiesResponseV2(capabilities));
    assert.deepEqual(decodeCapabilitiesResponseV2(received('response-capabilities').result), capabilities);
  });

  it('V2 CompleteScript answers null, and a download a DataStream or null', () => {
    assertResponseBytes('response-completescriptv2', null);
    assertResponseBytes('response-downloadfile-missing', null);
    const download = received('response-downloadfile').result;
    assert.ok(download instanceof DataStream);
    assertResponseBytes('response-downloadfile', streamLike(download.id.toDotnetBytes().toString('hex'), download.length));
  });
});

/** Sends values through the whole codec (BSON both ways, DataStreams bound as a receiver binds them). */
function throughTheWire(params: unknown[]): unknown[] {
  const request: RequestMessage = { id: 'x', activityId: Guid.random(), endpoint: null, service: 'S', method: 'M', params };
  const decoded = decodeMessage(encodeRequest(request).bson);
  bindStreams(
    decoded,
    decoded.streams.map((s) => DataStream.incoming(s.id, s.length, noSource)),
  );
  assert.equal(decoded.kind, 'request');
  return decoded.kind === 'request' ? decoded.message.params : [];
}

describe('Tentacle contracts without golden vectors: the Kubernetes agent and V1 cancel', () => {
  const k8sTicket = { TaskId: 'QmFzZTY0VGlja2V0MTIzNA' };
  const startK8s = (): StartKubernetesScriptCommandV1 => ({
    ScriptTicket: k8sTicket,
    TaskId: 'ServerTasks-99',
    ScriptBody: 'kubectl get pods',
    Arguments: ['-n', 'default'],
    Isolation: ScriptIsolationLevel.NoIsolation,
    ScriptIsolationMutexTimeout: TimeSpan.fromSeconds(30),
    IsolationMutexName: 'RunningScript',
    PodImageConfiguration: { Image: 'octopusdeploy/worker-tools', FeedUrl: null, FeedUsername: null, FeedPassword: null },
    ScriptPodServiceAccountName: 'octopus-script',
    Scripts: { Bash: 'kubectl get pods' },
    Files: [{ Name: 'values.yaml', Contents: DataStream.fromBuffer('replicas: 2\n'), EncryptionPassword: null }],
    IsRawScript: false,
    AuthContext: { SpaceSlug: 'default', ProjectSlug: 'web', ProjectGroupSlug: null, EnvironmentSlug: 'prod', TenantSlug: null, StepSlug: 'deploy' },
    ScriptPodPlatform: 'linux/amd64',
    CalamariImageConfiguration: { Name: 'octopusdeploy/calamari', Version: '1.2.3' },
  });

  it('every Kubernetes DTO round-trips with its $type and the ScriptTicket property name', () => {
    const start = startK8s();
    const wire = encodeStartKubernetesScriptCommandV1(start);
    assert.equal(wire['$type'], 'Octopus.Tentacle.Contracts.KubernetesScriptServiceV1.StartKubernetesScriptCommandV1, Octopus.Tentacle.Contracts');
    assert.equal(Object.keys(wire)[0], '$type');
    const [startBack, status, cancel, complete] = throughTheWire([
      wire,
      encodeKubernetesScriptStatusRequestV1({ ScriptTicket: k8sTicket, LastLogSequence: 5 }),
      encodeCancelKubernetesScriptCommandV1({ ScriptTicket: k8sTicket, LastLogSequence: 6 }),
      encodeCompleteKubernetesScriptCommandV1({ ScriptTicket: k8sTicket }),
    ]);
    assert.deepEqual(plain(decodeStartKubernetesScriptCommandV1(startBack)), plain(start));
    assert.deepEqual(decodeKubernetesScriptStatusRequestV1(status), { ScriptTicket: k8sTicket, LastLogSequence: 5 });
    assert.deepEqual(decodeCancelKubernetesScriptCommandV1(cancel), { ScriptTicket: k8sTicket, LastLogSequence: 6 });
    assert.deepEqual(decodeCompleteKubernetesScriptCommandV1(complete), { ScriptTicket: k8sTicket });
    const response = {
      ScriptTicket: k8sTicket,
      Logs: [log(ProcessOutputSource.Debug, '2024-05-01T12:00:00.000Z', "The Kubernetes Pod 'octopus-script-1' is in the 'Running' phase")],
      NextLogSequence: 1,
      State: ProcessState.Running,
      ExitCode: 0,
    };
    const [responseBack] = throughTheWire([encodeKubernetesScriptStatusResponseV1(response)]);
    assert.deepEqual(decodeKubernetesScriptStatusResponseV1(responseBack), response);
    // A V2-shaped value (Ticket, not ScriptTicket) is not a Kubernetes status.
    assert.throws(() => decodeKubernetesScriptStatusResponseV1({ ...encodeScriptStatusResponseV2(statusV2()), $type: undefined }), ContractError);
  });

  it('the V1 cancel command carries its legacy name', () => {
    const wire = encodeCancelScriptCommand({ Ticket: ticketV1, LastLogSequence: 3 });
    assert.equal(wire['$type'], 'Octopus.Shared.Contracts.CancelScriptCommand, Octopus.Shared');
    assert.deepEqual(decodeCancelScriptCommand(throughTheWire([wire])[0]), { Ticket: ticketV1, LastLogSequence: 3 });
  });
});

describe('Tentacle contracts: reading', () => {
  it('accepts the modern name of a legacy-mapped type, and an absent $type', () => {
    const legacy = encodeScriptStatusResponse(statusV1());
    const modern = { ...legacy, $type: 'Octopus.Tentacle.Contracts.ScriptStatusResponse, Octopus.Tentacle.Contracts' };
    assert.deepEqual(decodeScriptStatusResponse(modern), statusV1());
    const untyped: Record<string, unknown> = { ...legacy };
    delete untyped['$type'];
    assert.deepEqual(decodeScriptStatusResponse(untyped), statusV1());
    assert.ok(isContractType(TypeNames.UploadResult, 'UploadResult'));
    assert.ok(isContractType('Octopus.Tentacle.Contracts.UploadResult, Octopus.Tentacle.Contracts', 'UploadResult'));
    // V2 types only ever had one name.
    assert.ok(!isContractType('Octopus.Shared.Contracts.ScriptStatusResponseV2, Octopus.Shared', 'ScriptStatusResponseV2'));
  });

  it('refuses another type, and says where a value is wrong', () => {
    assert.throws(
      () => decodeScriptStatusResponseV2(encodeUploadResult({ FullPath: '/x', Hash: null, Length: 0 }), 'result'),
      (err: unknown) => err instanceof ContractError && err.code === 'ERR_CONTRACT' && err.path === 'result.$type',
    );
    const broken = { ...encodeScriptStatusResponseV2(statusV2()), Logs: [{ Source: 7, Occurred: new Date(0), Text: 'x' }] };
    assert.throws(
      () => decodeScriptStatusResponseV2(broken, 'result'),
      (err: unknown) => err instanceof ContractError && err.path === 'result.Logs[0].Source' && /one of 0, 1, 2, got 7/.test(err.message),
    );
    const inherited = { ...encodeStartScriptCommandV2(startV2()), Scripts: { toString: 'echo' } };
    assert.throws(() => decodeStartScriptCommandV2(inherited), (err: unknown) => err instanceof ContractError && /unknown script type 'toString'/.test(err.message));
    assert.throws(() => decodeScriptTicket({ TaskId: null }), (err: unknown) => err instanceof ContractError && err.path === 'value.TaskId');
    assert.throws(() => decodeScriptTicket('ticket'), (err: unknown) => err instanceof ContractError && /must be an object/.test(err.message));
  });

  it('makes filesystem-safe, distinct V2 tickets', () => {
    const tickets = new Set(Array.from({ length: 200 }, () => newScriptTicket().TaskId));
    assert.equal(tickets.size, 200);
    for (const t of tickets) {
      assert.match(t, /^[A-Za-z0-9]{12,22}$/);
      assert.ok(isSafeTicket(t));
    }
    for (const unsafe of ['', '.', '..', 'a/b', 'a\\b', 'a\u0000b']) assert.ok(!isSafeTicket(unsafe), JSON.stringify(unsafe));
  });
});

describe('script arguments and .NET command-line splitting', () => {
  it('splits the way the observed Tentacle did', () => {
    assert.deepEqual(splitCommandLine(['world', '"two words"'].join(' ')), ['world', 'two words']);
    assert.deepEqual(splitCommandLine("'single quotes' do not group"), ["'single", "quotes'", 'do', 'not', 'group']);
    assert.deepEqual(splitCommandLine('a\\\\"b c"'), ['a\\b c']);
    assert.deepEqual(splitCommandLine('"say ""hi"""'), ['say "hi"']);
  });

  it('quotes only what needs it', () => {
    assert.equal(quoteArgument('plain'), 'plain');
    assert.equal(quoteArgument(''), '""');
    assert.equal(quoteArgument('two words'), '"two words"');
    assert.equal(quoteArgument('say "hi"'), '"say \\"hi\\""');
    assert.equal(quoteArgument('C:\\dir\\'), 'C:\\dir\\');
    assert.equal(quoteArgument('C:\\my dir\\'), '"C:\\my dir\\\\"');
  });

  it('any list of arguments survives quoting, joining with spaces and splitting', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: fc.constantFrom('a', ' ', '"', '\\', '\t', 'é', "'", '$') }), { maxLength: 6 }), (args) => {
        assert.deepEqual(splitCommandLine(quoteArguments(args).join(' ')), args);
      }),
      { numRuns: 2000 },
    );
  });
});
