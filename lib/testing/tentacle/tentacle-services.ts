/**
 * The four services of a (non-Kubernetes) Linux Tentacle, implemented for the embeddable agent: scripts run for
 * real under bash, files are transferred for real, capabilities are what the options say.
 */
import { mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { ServiceNames } from '../../contracts/index.js';
import type { ServiceImplementation } from '../service-dispatch.js';
import { createCapabilitiesService } from './capabilities-service.js';
import { createFileTransferService } from './file-transfer-service.js';
import { ScriptHost } from './script-host.js';
import { createScriptServiceV1 } from './script-service-v1.js';
import { createScriptServiceV2 } from './script-service-v2.js';

export interface TentacleServicesOptions {
  /**
   * Where script workspaces live (one directory per ticket). Default: a new temp dir (mkdtemp) removed by dispose().
   * Scripts see `$TentacleHome` as its parent when it is named `Work` (a Tentacle's own layout, and the default's),
   * otherwise as the directory itself.
   */
  workRoot?: string;
  /** Uploads and downloads are confined to this directory; relative paths resolve against it. Default: a new temp dir removed by dispose(). */
  fileRoot?: string;
  /** Capabilities to advertise; default ['IScriptService','IFileTransferService','IScriptServiceV2']. `false`: no ICapabilitiesServiceV2 at all (an old Tentacle). */
  capabilities?: readonly string[] | false;
  /** Offer IScriptServiceV2 (default true). With false it is also left out of the default capabilities. */
  scriptServiceV2?: boolean;
  /** The shell, default '/bin/bash'. */
  shell?: string;
  /** Extra environment for scripts (on top of process.env, TentacleHome and TentacleJournal). */
  env?: Readonly<Record<string, string>>;
}

export interface TentacleServices {
  /** Give this to `new ListeningAgent({ services })` (or spread into it). Keys: 'IScriptService', 'IScriptServiceV2' (unless disabled), 'IFileTransferService', 'ICapabilitiesServiceV2' (unless capabilities === false). */
  readonly services: Record<string, ServiceImplementation>;
  /** The directory holding the script workspaces (symbolic links resolved). */
  readonly workRoot: string;
  /** The directory transfers are confined to (symbolic links resolved). */
  readonly fileRoot: string;
  /**
   * Scripts started so far (both services), for tests that assert a script ran exactly once. It counts starts
   * that created a script: a repeated V2 start of a known ticket does not count.
   */
  readonly scriptsStarted: number;
  /** Kills every running script (process tree), waits for them to exit, removes temp dirs this object created. Idempotent. */
  dispose(): Promise<void>;
  /** The same as {@link dispose}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Creates the agent-side Tentacle services: `IScriptService`, `IScriptServiceV2`, `IFileTransferService` and
 * `ICapabilitiesServiceV2`, behaving like a Linux Tentacle (see docs/contracts.md).
 *
 * **Warning: this runs whatever scripts a trusted client sends, as the user running this process, and reads and
 * writes files for it.** It is for tests and demos only. Serve it from a `ListeningAgent` bound to loopback
 * (its default) and trust only the thumbprint of a client you control. File transfers are confined to `fileRoot`,
 * but scripts are not confined at all.
 *
 * Call `dispose()` when done: it kills the scripts still running and removes the temporary directories. What a
 * script deliberately detaches from its output (`nohup daemon >/dev/null 2>&1 &`) outlives it, as on a Tentacle.
 */
export async function createTentacleServices(options: TentacleServicesOptions = {}): Promise<TentacleServices> {
  const created: string[] = [];
  try {
    let home: string;
    let workRoot: string;
    if (options.workRoot === undefined) {
      // Laid out as a Tentacle home: workspaces under Work/, the home itself in $TentacleHome.
      home = await realpath(await mkdtemp(join(tmpdir(), 'halibut-tentacle-')));
      created.push(home);
      workRoot = join(home, 'Work');
      await mkdir(workRoot);
    } else {
      await mkdir(options.workRoot, { recursive: true });
      workRoot = await realpath(resolve(options.workRoot));
      home = basename(workRoot) === 'Work' ? dirname(workRoot) : workRoot;
    }
    let fileRoot: string;
    if (options.fileRoot === undefined) {
      fileRoot = await realpath(await mkdtemp(join(tmpdir(), 'halibut-files-')));
      created.push(fileRoot);
    } else {
      await mkdir(options.fileRoot, { recursive: true });
      fileRoot = await realpath(resolve(options.fileRoot));
    }

    const host = new ScriptHost({
      workRoot,
      shell: options.shell ?? '/bin/bash',
      env: { ...process.env, TentacleHome: home, TentacleJournal: join(home, 'DeploymentJournal.xml'), ...options.env },
    });
    const v2 = options.scriptServiceV2 ?? true;
    const services: Record<string, ServiceImplementation> = {
      [ServiceNames.ScriptService]: createScriptServiceV1(host),
      [ServiceNames.FileTransferService]: createFileTransferService(fileRoot),
    };
    if (v2) services[ServiceNames.ScriptServiceV2] = createScriptServiceV2(host);
    if (options.capabilities !== false) {
      const capabilities = options.capabilities ?? [ServiceNames.ScriptService, ServiceNames.FileTransferService, ...(v2 ? [ServiceNames.ScriptServiceV2] : [])];
      services[ServiceNames.CapabilitiesServiceV2] = createCapabilitiesService(capabilities);
    }

    let disposed: Promise<void> | undefined;
    const dispose = (): Promise<void> =>
      (disposed ??= (async () => {
        await host.dispose();
        await removeAll(created);
      })());
    return {
      services,
      workRoot,
      fileRoot,
      get scriptsStarted() {
        return host.started;
      },
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
