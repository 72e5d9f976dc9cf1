/**
 * The four services of a (non-Kubernetes) Linux Tentacle, implemented for the embeddable agent: scripts run for
 * real under bash, files are transferred for real, capabilities are what the options say.
 */
import { mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ServiceNames } from '../../contracts/index.js';
import type { RequestBinding, ServiceImplementation } from '../service-dispatch.js';
import { createCapabilitiesService } from './capabilities-service.js';
import { createFileTransferService } from './file-transfer-service.js';
import { ScriptHost, ScriptRuntime } from './script-host.js';
import { createScriptServiceV1 } from './script-service-v1.js';
import { createScriptServiceV2 } from './script-service-v2.js';
import { TENTACLE_BINDING } from './tentacle-binding.js';

/** Where the stand-in Tentacle keeps its files, what it advertises, and how it runs scripts. */
export interface TentacleServicesOptions {
  /**
   * The agent's home, what scripts see as `$TentacleHome`: relative upload and download paths resolve against it,
   * and transfers are confined to it (see `allowPathsOutsideHome`). Default: a new temp dir (mkdtemp) removed by
   * dispose().
   */
  home?: string;
  /** Where script workspaces live (one directory per ticket). Default: `Work` in the home, as on a Tentacle. */
  workRoot?: string;
  /** Another name for `home`, from when transfers had a root of their own; `home` wins when both are given. */
  fileRoot?: string;
  /**
   * Let uploads and downloads reach any path, as a real Tentacle does (absolute paths anywhere, `..` out of the
   * home). Default false: every path must stay inside the home, so a test cannot overwrite files elsewhere.
   */
  allowPathsOutsideHome?: boolean;
  /**
   * Write a ScriptFile whose name points outside the workspace (`../x`, `/tmp/x`) where it points, as a real
   * Tentacle does. Default false: such a start is refused with an error.
   */
  allowScriptFilesOutsideWorkspace?: boolean;
  /**
   * At most this many scripts run at once; the others wait (Pending) as for an isolation mutex. Default: no cap,
   * as on a Tentacle.
   */
  maxConcurrentScripts?: number;
  /** Capabilities to advertise; default ['IScriptService','IFileTransferService','IScriptServiceV2']. `false`: no ICapabilitiesServiceV2 at all (an old Tentacle). */
  capabilities?: readonly string[] | false;
  /** Offer IScriptServiceV2 (default true). With false it is also left out of the default capabilities. */
  scriptServiceV2?: boolean;
  /** The shell, default '/bin/bash'. */
  shell?: string;
  /**
   * Extra environment for scripts, on top of this process's environment (without its `HALIBUT_*` variables) and
   * the `Tentacle*` variables a Tentacle sets (see {@link tentacleEnvironment}); these win.
   */
  env?: Readonly<Record<string, string>>;
}

/** The Tentacle services made by {@link createTentacleServices}, ready to serve from a {@link ListeningAgent}. */
export interface TentacleServices {
  /** Give this to `new ListeningAgent({ services })` (or spread into it). Keys: 'IScriptService', 'IScriptServiceV2' (unless disabled), 'IFileTransferService', 'ICapabilitiesServiceV2' (unless capabilities === false). */
  readonly services: Record<string, ServiceImplementation>;
  /** How a Tentacle's Halibut runtime finds services and binds arguments; give it to the ListeningAgent as `binding`. */
  readonly binding: RequestBinding;
  /** The agent's home, `$TentacleHome` (symbolic links resolved). */
  readonly home: string;
  /** The directory holding the script workspaces (symbolic links resolved). */
  readonly workRoot: string;
  /** The directory transfers resolve against and are confined to: the same as `home`. */
  readonly fileRoot: string;
  /**
   * Scripts started so far (both services), for tests that assert a script ran exactly once. It counts starts
   * that created a script: a repeated V2 start of a known ticket does not count.
   */
  readonly scriptsStarted: number;
  /**
   * How many scripts were started under `ticket` (compared without regard to case, as a Tentacle compares tickets),
   * for tests that assert each ticket ran exactly once: a repeated V2 start of a ticket the agent still knows does not
   * count, a start after the ticket was cleaned up (CompleteScript) does. Kept for the life of the services.
   */
  startsOf(ticket: string): number;
  /**
   * Kills every script still running (its whole process tree, and what any script left behind), waits for them to
   * exit, removes temp dirs this object created. Idempotent.
   */
  dispose(): Promise<void>;
  /** The same as {@link dispose}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** The version of Tentacle this agent imitates, as scripts see it in `$TentacleVersion`. */
export const IMITATED_TENTACLE_VERSION = '9.2.4304';

/**
 * The variables a Linux Tentacle sets for every script, with values for this agent: the paths are under the home
 * (or where a Linux Tentacle is installed, `/opt/octopus/tentacle`, for the program paths, which do not exist
 * here), the instance is `Tentacle`, the version {@link IMITATED_TENTACLE_VERSION}.
 */
export function tentacleEnvironment(home: string): Record<string, string> {
  return {
    TentacleHome: home,
    TentacleJournal: join(home, 'DeploymentJournal.xml'),
    TentacleApplications: join(home, 'Applications'),
    TentacleInstanceName: 'Tentacle',
    TentacleVersion: IMITATED_TENTACLE_VERSION,
    TentacleExecutablePath: '/opt/octopus/tentacle/Tentacle',
    TentacleProgramDirectoryPath: '/opt/octopus/tentacle',
    AgentProgramDirectoryPath: '/opt/octopus/tentacle',
    TentacleNetFrameworkDescription: '.NET 8.0.0',
    TentacleCertificateSignatureAlgorithm: 'sha256RSA',
    TentacleUseDefaultProxy: 'True',
    TentacleProxyPort: '80',
    CalamariPackageRetentionJournalPath: join(home, 'Calamari', 'PackageRetentionJournal.json'),
  };
}

/** This process's environment without the `HALIBUT_*` variables that configure the library (never a script's business). */
function inheritedEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toUpperCase().startsWith('HALIBUT_')));
}

/**
 * Creates the agent-side Tentacle services: `IScriptService`, `IScriptServiceV2`, `IFileTransferService` and
 * `ICapabilitiesServiceV2`, behaving like a Linux Tentacle (see docs/contracts.md).
 *
 * **Warning: this runs whatever scripts a trusted client sends, as the user running this process, and reads and
 * writes files for it.** It is for tests and demos only. Serve it from a `ListeningAgent` bound to loopback
 * (its default) and trust only the thumbprint of a client you control. File transfers are confined to the home
 * (unless `allowPathsOutsideHome`), but scripts are not confined at all.
 *
 * Call `dispose()` when done: it kills every script still running, with everything it started (even what detached
 * from its output, which would outlive it on a Tentacle), and removes the temporary directories.
 */
export async function createTentacleServices(options: TentacleServicesOptions = {}): Promise<TentacleServices> {
  const created: string[] = [];
  try {
    let home: string;
    const chosenHome = options.home ?? options.fileRoot;
    if (chosenHome === undefined) {
      home = await realpath(await mkdtemp(join(tmpdir(), 'halibut-tentacle-')));
      created.push(home);
    } else {
      await mkdir(chosenHome, { recursive: true });
      home = await realpath(resolve(chosenHome));
    }
    const workRootPath = options.workRoot ?? join(home, 'Work');
    await mkdir(workRootPath, { recursive: true });
    const workRoot = await realpath(resolve(workRootPath));
    const max = options.maxConcurrentScripts ?? Infinity;
    if (!(max >= 1)) throw new RangeError(`maxConcurrentScripts must be at least 1, got ${max}`);

    const runtime = new ScriptRuntime(Math.floor(max));
    const hostOptions = {
      workRoot,
      shell: options.shell ?? '/bin/bash',
      env: { ...inheritedEnvironment(), ...tentacleEnvironment(home), ...options.env },
      runtime,
      allowScriptFilesOutsideWorkspace: options.allowScriptFilesOutsideWorkspace ?? false,
    };
    const v2 = options.scriptServiceV2 ?? true;
    const services: Record<string, ServiceImplementation> = {
      [ServiceNames.ScriptService]: createScriptServiceV1(new ScriptHost({ ...hostOptions, keepScriptState: false })),
      [ServiceNames.FileTransferService]: createFileTransferService({ home, allowPathsOutsideHome: options.allowPathsOutsideHome ?? false }),
    };
    if (v2) services[ServiceNames.ScriptServiceV2] = createScriptServiceV2(new ScriptHost({ ...hostOptions, keepScriptState: true }));
    if (options.capabilities !== false) {
      const capabilities = options.capabilities ?? [ServiceNames.ScriptService, ServiceNames.FileTransferService, ...(v2 ? [ServiceNames.ScriptServiceV2] : [])];
      services[ServiceNames.CapabilitiesServiceV2] = createCapabilitiesService(capabilities);
    }

    let disposed: Promise<void> | undefined;
    const dispose = (): Promise<void> =>
      (disposed ??= (async () => {
        await runtime.dispose();
        await removeAll(created);
      })());
    return {
      services,
      binding: TENTACLE_BINDING,
      home,
      workRoot,
      fileRoot: home,
      get scriptsStarted() {
        return runtime.started;
      },
      startsOf: (ticket) => runtime.startsByTicket.get(ticket.toLowerCase()) ?? 0,
      dispose,
      [Symbol.asyncDispose]: dispose,
    };
  } catch (error) {
    await removeAll(created);
    throw error;
  }
}

async function removeAll(dirs: readonly string[]): Promise<void> {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true, maxRetries: 3 })));
}
