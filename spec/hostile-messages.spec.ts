// What one hostile message may cost the client: each shape an agent could send (millions of tiny elements, deep
// nesting, huge strings, many keys, deflate bombs) is answered to a real call over TLS, in a process of its own, and
// must end as expected with the default bounds, within the goals for peak RSS growth and the longest block of the
// event loop. The figures are printed as test diagnostics.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { closeEverythingAfterwards } from './support/cleanup.js';
import type { HostileCallIdentities } from './support/hostile-call.js';
import * as hostile from './support/hostile-messages.js';
import { identities } from './support/identities.js';

closeEverythingAfterwards();
const ids = await identities();

/** The goals for any single hostile message, with default settings. */
const MAX_RSS_GROWTH_MIB = 256;
const MAX_BLOCK_MS = 200;
const MIB = 2 ** 20;

interface Measured {
  ok: boolean;
  code?: string;
  bound?: string;
  size?: number;
  rssGrowthMiB: number;
  maxBlockMs: number;
  cpuMs: number;
}

/** Runs spec/support/hostile-call.ts on a result element and returns what it measured. */
async function measure(result: hostile.HostileResult): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), 'halibut-hostile-'));
  try {
    writeFileSync(join(dir, 'result.deflate'), result.deflated);
    const passed: HostileCallIdentities = {
      client: { cert: ids.client.cert, key: ids.client.key },
      agent: { cert: ids.agent.cert, key: ids.agent.key, thumbprint: ids.agent.thumbprint },
    };
    writeFileSync(join(dir, 'identities.json'), JSON.stringify(passed), { mode: 0o600 });
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'spec/support/hostile-call.ts', dir, String(result.length)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, `the measuring process failed: ${err}`);
    return JSON.parse(out.trim().split('\n').pop()!) as Measured;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const cases: Array<{ name: string; make: () => hostile.HostileResult; expect: { code?: string; bound?: string; size?: number } }> = [
  // The issue's case: 4.7 M empty binaries, +1.1 GB and a 6.7 s block before the decode budget.
  { name: '4.7 M empty binaries', make: () => hostile.tinyBinaries(4_700_000), expect: { code: 'ERR_MESSAGE_TOO_LARGE', bound: 'maxDecodedBytes' } },
  { name: '30 M nulls (60 MB of two-byte elements)', make: () => hostile.tinyNulls(30_000_000), expect: { code: 'ERR_MESSAGE_TOO_LARGE', bound: 'maxElements' } },
  { name: 'arrays nested 100 000 deep', make: () => hostile.deepNesting(100_000), expect: { code: 'ERR_MESSAGE_TOO_LARGE', bound: 'maxDepth' } },
  { name: 'a 60 MiB ASCII string (within the bounds)', make: () => hostile.hugeString(60 * MIB, false), expect: { size: 60 * MIB } },
  { name: 'a 60 MiB string V8 keeps at two bytes a character', make: () => hostile.hugeString(60 * MIB, true), expect: { code: 'ERR_MESSAGE_TOO_LARGE', bound: 'maxDecodedBytes' } },
  { name: 'one document with 3 M keys', make: () => hostile.manyKeys(3_000_000), expect: { code: 'ERR_MESSAGE_TOO_LARGE', bound: 'maxDecodedBytes' } },
  { name: 'a bomb declaring 1 GiB', make: () => hostile.zeroBomb(2 ** 30, 80 * MIB), expect: { code: 'ERR_MESSAGE_TOO_LARGE', bound: 'maxMessageBytes' } },
  { name: 'a bomb inflating 80 MiB past a 1 MiB declaration', make: () => hostile.zeroBomb(MIB, 80 * MIB), expect: { code: 'ERR_MESSAGE_FORMAT' } },
  { name: 'a bomb of 60 MiB of zeros (within the bounds)', make: () => hostile.zeroBomb(60 * MIB, 60 * MIB), expect: { size: 60 * MIB } },
];

describe('one hostile message, with the default bounds', () => {
  for (const c of cases) {
    it(`${c.name}: ${c.expect.code ?? 'accepted'}${c.expect.bound === undefined ? '' : ` (${c.expect.bound})`}, < ${MAX_RSS_GROWTH_MIB} MiB of RSS, no block ≥ ${MAX_BLOCK_MS} ms`, async (t) => {
      const m = await measure(c.make());
      t.diagnostic(`rss +${m.rssGrowthMiB} MiB, longest block ${m.maxBlockMs} ms, cpu ${m.cpuMs} ms`);
      if (c.expect.code === undefined) {
        assert.equal(m.ok, true, JSON.stringify(m));
        assert.equal(m.size, c.expect.size);
      } else {
        assert.equal(m.code, c.expect.code, JSON.stringify(m));
        assert.equal(m.bound, c.expect.bound);
      }
      assert.ok(m.rssGrowthMiB < MAX_RSS_GROWTH_MIB, `peak RSS growth ${m.rssGrowthMiB} MiB`);
      assert.ok(m.maxBlockMs < MAX_BLOCK_MS, `longest event-loop block ${m.maxBlockMs} ms`);
    });
  }
});
