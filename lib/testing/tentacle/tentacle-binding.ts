/**
 * How a current Tentacle's Halibut runtime takes a request (§12.12 and §12.13 of the Tentacle notes): services are
 * registered with Autofac under their exact interface names (so lookup is case-sensitive, and a miss is Tentacle's
 * own error), method names match without regard to case, and a method is only called when the arguments fit its
 * .NET signature: the right count, and each a value of the declared type (a DTO must carry its contract's `$type`).
 * Anything else is Halibut's ambiguous-match error. A `$type` the runtime cannot resolve makes it close the
 * connection, and a null DTO fails inside the method as a NullReferenceException. Services served beside the
 * Tentacle's (a test's own) are looked up by exact name too, but their arguments and types are taken as they come.
 */
import { acceptedTypeNames, TypeNames, type ContractTypeName } from '../../contracts/type-names.js';
import { ServiceNames } from '../../contracts/services.js';
import { DataStream } from '../../protocol/data-stream.js';
import type { RequestMessage, ServerError } from '../../protocol/message-codec.js';
import { Double, Guid, Int32, Int64 } from '../../protocol/dotnet-values.js';
import type { RequestBinding } from '../service-dispatch.js';

/** A parameter's .NET type: a contract DTO, a string, or a DataStream. */
type Param = ContractTypeName | 'String' | 'DataStream';

interface MethodSignature {
  params: readonly Param[];
  /** The .NET result type as reflection prints it, for the candidate list. */
  returns: string;
}

interface ServiceSignature {
  /** The implementation class, as a Tentacle's unknown-method error names it. */
  className: string;
  methods: Readonly<Record<string, MethodSignature>>;
}

const task = (t: string): string => `System.Threading.Tasks.Task\`1[${t}]`;
const contract = (name: ContractTypeName): string => {
  // The .NET type's real name: the modern namespace, whatever name is written on the wire.
  const modern = acceptedTypeNames(name).find((n) => n.startsWith('Octopus.Tentacle.')) ?? TypeNames[name];
  return modern.slice(0, modern.indexOf(','));
};

const SIGNATURES: Readonly<Record<string, ServiceSignature>> = {
  [ServiceNames.ScriptService]: {
    className: 'Octopus.Tentacle.Services.Scripts.ScriptService',
    methods: {
      StartScript: { params: ['StartScriptCommand'], returns: task(contract('ScriptTicket')) },
      GetStatus: { params: ['ScriptStatusRequest'], returns: task(contract('ScriptStatusResponse')) },
      CancelScript: { params: ['CancelScriptCommand'], returns: task(contract('ScriptStatusResponse')) },
      CompleteScript: { params: ['CompleteScriptCommand'], returns: task(contract('ScriptStatusResponse')) },
    },
  },
  [ServiceNames.ScriptServiceV2]: {
    className: 'Octopus.Tentacle.Core.Services.Scripts.ScriptServiceV2',
    methods: {
      StartScript: { params: ['StartScriptCommandV2'], returns: task(contract('ScriptStatusResponseV2')) },
      GetStatus: { params: ['ScriptStatusRequestV2'], returns: task(contract('ScriptStatusResponseV2')) },
      CancelScript: { params: ['CancelScriptCommandV2'], returns: task(contract('ScriptStatusResponseV2')) },
      CompleteScript: { params: ['CompleteScriptCommandV2'], returns: 'System.Threading.Tasks.Task' },
    },
  },
  [ServiceNames.FileTransferService]: {
    className: 'Octopus.Tentacle.Core.Services.FileTransfer.FileTransferService',
    methods: {
      UploadFile: { params: ['String', 'DataStream'], returns: task(contract('UploadResult')) },
      DownloadFile: { params: ['String'], returns: task('Halibut.DataStream') },
    },
  },
  [ServiceNames.CapabilitiesServiceV2]: {
    className: 'Octopus.Tentacle.Services.Capabilities.CapabilitiesServiceV2',
    methods: { GetCapabilities: { params: [], returns: task(contract('CapabilitiesResponseV2')) } },
  },
};

/** Every `$type` a Tentacle resolves: its contract types (both names of legacy ones) and Halibut's DataStream. */
const KNOWN_TYPES: ReadonlyMap<string, ContractTypeName | 'DataStream'> = new Map<string, ContractTypeName | 'DataStream'>([
  ...(Object.keys(TypeNames) as ContractTypeName[]).flatMap((name) => acceptedTypeNames(name).map((t): [string, ContractTypeName] => [t, name])),
  ['Halibut.DataStream, Halibut', 'DataStream'],
]);

/** True when every `$type` anywhere in `value` can be resolved. */
function readable(value: unknown, depth = 0): boolean {
  if (value === null || typeof value !== 'object' || depth > 64 || value instanceof DataStream || Buffer.isBuffer(value) || value instanceof Date || value instanceof Guid) return true;
  const type = (value as Record<string, unknown>)['$type'];
  if (typeof type === 'string' && !KNOWN_TYPES.has(type)) return false;
  return Object.values(value).every((v) => readable(v, depth + 1));
}

/** The .NET type name Halibut would report for an argument (`Type.Name`), or null for null. */
function argumentType(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return 'String';
  if (typeof value === 'boolean') return 'Boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? 'Int64' : 'Double';
  if (value instanceof Int32 || value instanceof Int64 || typeof value === 'bigint') return 'Int64';
  if (value instanceof Double) return 'Double';
  if (value instanceof DataStream) return 'DataStream';
  if (value instanceof Guid) return 'Guid';
  if (value instanceof Date) return 'DateTime';
  if (Buffer.isBuffer(value)) return 'Byte[]';
  if (Array.isArray(value)) return 'JArray';
  const type = (value as Record<string, unknown>)['$type'];
  const known = typeof type === 'string' ? KNOWN_TYPES.get(type) : undefined;
  return known ?? 'JObject';
}

function dotnetName(param: Param): string {
  if (param === 'String') return 'System.String';
  if (param === 'DataStream') return 'Halibut.DataStream';
  return contract(param);
}

function ambiguous(name: string, signature: MethodSignature, args: readonly (string | null)[]): ServerError {
  const candidate = `${signature.returns} ${name}Async(${[...signature.params.map(dotnetName), 'System.Threading.CancellationToken'].join(', ')})`;
  const message =
    'Could not decide which candidate to call out of the following methods:\n' +
    ` - ${candidate}\n` +
    'The request arguments were:\n' +
    `${args.map((a) => a ?? '<null>').join(', ')}\n`;
  return {
    message,
    details:
      `Halibut.Exceptions.AmbiguousMethodMatchHalibutClientException: ${message}\n ---> System.Reflection.AmbiguousMatchException: ${message}\n` +
      '   --- End of inner exception stack trace ---\n   at Halibut.ServiceModel.ServiceInvoker.SelectAsyncMethod(IList`1 methods, RequestMessage requestMessage)',
    HalibutErrorType: 'Halibut.Exceptions.AmbiguousMethodMatchHalibutClientException',
  };
}

function nullReference(className: string, method: string): ServerError {
  const message = 'Object reference not set to an instance of an object.';
  return {
    message,
    details: `System.Reflection.TargetInvocationException: Exception has been thrown by the target of an invocation.\n ---> System.NullReferenceException: ${message}\n   at ${className}.${method}Async(CancellationToken cancellationToken)`,
    HalibutErrorType: null,
  };
}

function signatureOf(service: string, method: string): [string, MethodSignature] | undefined {
  const methods = SIGNATURES[service]?.methods;
  if (methods === undefined) return undefined;
  const lower = method.toLowerCase();
  return Object.entries(methods).find(([name]) => name.toLowerCase() === lower || `${name.toLowerCase()}async` === lower);
}

/** A Tentacle's Halibut runtime, as a {@link RequestBinding}. */
export const TENTACLE_BINDING: RequestBinding = {
  // Only for the Tentacle's own services: extra services served beside them bring types of their own.
  canRead: (request: RequestMessage) => SIGNATURES[request.service] === undefined || readable(request.params),
  // Autofac: exact names only.
  findService: (services, name) => services.get(name),
  serviceNotFound: (name) => {
    const message = `Error: ${name} has not been registered through an IAutofacServiceSource`;
    return {
      message,
      details: `Octopus.Tentacle.Communications.UnknownServiceNameException: ${message}\n   at Octopus.Tentacle.Communications.AutofacServiceFactory.CreateService(String serviceName)`,
      HalibutErrorType: null,
    };
  },
  methodNotFound: (service, method) => {
    const message = `Method ${SIGNATURES[service]?.className ?? service}::${method}Async not found`;
    return {
      message,
      details: `Halibut.Exceptions.MethodNotFoundHalibutClientException: ${message}\n   at Halibut.ServiceModel.ServiceInvoker.InvokeAsync(RequestMessage requestMessage)`,
      HalibutErrorType: 'Halibut.Exceptions.MethodNotFoundHalibutClientException',
    };
  },
  checkArguments: (service, method, params) => {
    const found = signatureOf(service, method);
    // A service the Tentacle does not have (an extra one served beside it): passed through as Halibut would.
    if (found === undefined) return undefined;
    const [name, signature] = found;
    const args = params.map(argumentType);
    const fits = args.length === signature.params.length && args.every((a, i) => a === null || a === signature.params[i]);
    if (!fits) return ambiguous(name, signature, args);
    // A null where a DTO is declared gets into the method, which then dereferences it.
    if (signature.params.some((p, i) => p !== 'String' && p !== 'DataStream' && args[i] === null)) return nullReference(SIGNATURES[service]!.className, name);
    return undefined;
  },
};
