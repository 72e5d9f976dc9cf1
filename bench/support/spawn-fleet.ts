import { fileURLToPath } from 'node:url';
import { generateCertificate, type CertificateIdentity, type Endpoint } from '../../lib/index.js';
import { startChild, type Child } from './child.js';
import { withFdLimit } from './fd-limit.js';

export interface Fleet {
  /** Every agent, ready to call; all pin the same thumbprint. */
  endpoints: Endpoint[];
  /** The agents' processes' file-descriptor limits, as they reported them. */
  fdLimits: string[];
  stop(): Promise<void>;
}

/**
 * Starts `count` agents (fleet-agents-process.ts) spread evenly over `processes` child processes, each started
 * with its file-descriptor limit raised towards `fdWanted`, all trusting `client` and sharing one certificate.
 */
export async function spawnFleet(client: CertificateIdentity, count: number, processes: number, fdWanted: number): Promise<Fleet> {
  const script = fileURLToPath(new URL('./fleet-agents-process.ts', import.meta.url));
  const agent = await generateCertificate({ commonName: 'bench fleet agent' });
  const certificate = { cert: agent.cert, key: agent.key };
  const started = await Promise.allSettled(
    Array.from({ length: processes }, (_, p) => {
      const share = Math.floor(count / processes) + (p < count % processes ? 1 : 0);
      const [command, args] = withFdLimit(fdWanted, process.execPath, ['--import', 'tsx', script, JSON.stringify({ trusted: client.thumbprint, count: share, certificate })]);
      return startChild<{ urls: string[]; fdLimit: string }>(command, args);
    }),
  );
  const children = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stop = async (): Promise<void> => {
    await Promise.all(children.map((c: Child<unknown>) => c.stop()));
  };
  const failure = started.find((s) => s.status === 'rejected');
  if (failure !== undefined) {
    await stop();
    throw failure.reason;
  }
  return {
    endpoints: children.flatMap((c) => c.info.urls.map((url) => ({ url, thumbprint: agent.thumbprint }))),
    fdLimits: children.map((c) => c.info.fdLimit),
    stop,
  };
}
