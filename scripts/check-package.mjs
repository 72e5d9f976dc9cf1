#!/usr/bin/env node
// The package as a user gets it. Packs this checkout (npm's prepack builds dist/ first, so no build is needed
// beforehand), installs the tarball into a new project in a temporary folder, and uses it the ways users do:
// `import` from ESM, `require()` from CommonJS, a TypeScript consumer type-checked under the node16, nodenext and
// bundler resolutions, `halibut-client/testing`, and `npx halibut --help`. Every relative link in the installed
// README and docs must resolve inside the installed package. Then publint and Are the Types Wrong judge the tarball.
// Exits non-zero on the first failure, saying which check failed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import console from 'node:console';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const keep = process.argv.includes('--keep');

/** Runs a command; returns its stdout, or fails the check with its output. */
function run(what, command, args, options = {}) {
  const started = Date.now();
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) {
    process.stderr.write(`${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? `${result.error}\n` : ''}`);
    throw new Error(`${what} failed (exit ${result.status ?? result.signal})`);
  }
  console.log(`ok  ${what} (${seconds} s)`);
  return result.stdout;
}

function write(dir, files) {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'halibut-package-'));
try {
  // --- pack and install --------------------------------------------------------------------------------------------
  const packDir = join(tmp, 'pack');
  mkdirSync(packDir);
  run('npm pack (prepack builds dist/)', 'npm', ['pack', '--pack-destination', packDir, '--silent'], { cwd: root });
  const tarballs = readdirSync(packDir).filter((f) => f.endsWith('.tgz'));
  if (tarballs.length !== 1) throw new Error(`npm pack made ${tarballs.length} tarballs`);
  const tarball = join(packDir, tarballs[0]);

  const project = join(tmp, 'consumer');
  const typesNode = JSON.parse(readFileSync(join(root, 'node_modules', '@types', 'node', 'package.json'), 'utf8')).version;
  write(project, { 'package.json': JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2) });
  run('npm install the tarball into a new project', 'npm', ['install', '--no-audit', '--no-fund', '--silent', tarball, `@types/node@${typesNode}`], {
    cwd: project,
  });
  const installed = join(project, 'node_modules', 'halibut-client');

  // --- what the tarball holds --------------------------------------------------------------------------------------
  for (const needed of ['dist/index.js', 'dist/index.d.ts', 'dist/testing/index.js', 'dist/bullmq/index.js', 'dist/opentelemetry/index.js', 'dist/cli/main.js', 'bin/halibut.js', 'docs/cli.md', 'README.md', 'LICENSE', 'CHANGELOG.md']) {
    if (!existsSync(join(installed, needed))) throw new Error(`the installed package has no ${needed}`);
  }
  for (const unwanted of ['spec', 'bench', 'scripts', '.ci', 'tsconfig.json']) {
    if (existsSync(join(installed, unwanted))) throw new Error(`the installed package ships ${unwanted}, which users do not need`);
  }
  console.log('ok  the package holds dist, bin, docs, README, LICENSE and CHANGELOG, and no tests or tooling');

  // --- JavaScript consumers ----------------------------------------------------------------------------------------
  write(project, {
    'esm.mjs': `import assert from 'node:assert/strict';
import { DataStream, HalibutClient, generateCertificate } from 'halibut-client';
import { ListeningAgent } from 'halibut-client/testing';

// A real call through the packaged code: an agent on loopback, a client that trusts it.
const [agentId, clientId] = await Promise.all([generateCertificate(), generateCertificate()]);
const agent = new ListeningAgent({
  certificate: agentId,
  trustedThumbprints: [clientId.thumbprint],
  services: { IEchoService: { SayHello: (name) => 'Hello, ' + name + '!', Count: async (s) => (await s.toBuffer()).length } },
});
const { url, thumbprint } = await agent.listen();
const client = new HalibutClient({ certificate: clientId });
try {
  const endpoint = { url, thumbprint };
  assert.equal(await client.call(endpoint, { service: 'IEchoService', method: 'SayHello', params: ['package'] }), 'Hello, package!');
  assert.equal(await client.call(endpoint, { service: 'IEchoService', method: 'Count', params: [DataStream.fromBuffer(Buffer.alloc(1000))] }), 1000);
} finally {
  await client.close();
  await agent.close();
}
`,
    'cjs.cjs': `const assert = require('node:assert/strict');
const client = require('halibut-client');
const testing = require('halibut-client/testing');
assert.equal(typeof client.HalibutClient, 'function');
assert.equal(typeof client.TentacleClient, 'function');
assert.equal(typeof testing.ListeningAgent, 'function');
assert.equal(typeof testing.startTentacleAgent, 'function');
assert.equal(require('halibut-client/package.json').name, 'halibut-client');
`,
  });
  run('import from ESM: a call to the packaged agent', process.execPath, ['esm.mjs'], { cwd: project });
  run('require() from CommonJS', process.execPath, ['cjs.cjs'], { cwd: project });

  // --- optional peer dependencies -----------------------------------------------------------------------------------
  // npm installs no optional peer dependency by itself, so this project has neither bullmq nor @opentelemetry/api:
  // the core must load without them, and an entry point that needs one must say which it lacks.
  write(project, {
    'optional.mjs': `import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
for (const peer of ['bullmq', '@opentelemetry/api']) assert.throws(() => require.resolve(peer), { code: 'MODULE_NOT_FOUND' }, peer + ' is installed');
const core = await import('halibut-client');
assert.equal(typeof core.TentacleClient, 'function');
await assert.rejects(import('halibut-client/bullmq'), (error) => error.code === 'ERR_MODULE_NOT_FOUND' && error.message.includes("'bullmq'"));
`,
  });
  run('the core loads without the optional peer dependencies; halibut-client/bullmq names the one it lacks', process.execPath, ['optional.mjs'], { cwd: project });

  // --- a TypeScript consumer ---------------------------------------------------------------------------------------
  write(project, {
    'consumer.ts': `import { HalibutClient, TentacleClient, generateCertificate, type Endpoint, type HalibutClientOptions } from 'halibut-client';
import { startTentacleAgent, type StartedTentacleAgent } from 'halibut-client/testing';

export async function check(): Promise<number> {
  const identity = await generateCertificate();
  const options: HalibutClientOptions = { certificate: identity };
  const halibut = new HalibutClient(options);
  const agent: StartedTentacleAgent = await startTentacleAgent({ certificate: await generateCertificate(), trustedThumbprints: [identity.thumbprint] });
  const endpoint: Endpoint = agent.endpoint;
  const run = new TentacleClient(halibut).runScript(endpoint, { body: 'echo hi' });
  for await (const line of run) console.log(line.text);
  const { exitCode } = await run;
  await halibut.close();
  await agent.close();
  return exitCode;
}
`,
  });
  const resolutions = { node16: ['node16', 'node16'], nodenext: ['nodenext', 'nodenext'], bundler: ['esnext', 'bundler'] };
  for (const [name, [module, moduleResolution]] of Object.entries(resolutions)) {
    const config = `tsconfig.${name}.json`;
    write(project, {
      [config]: JSON.stringify({
        compilerOptions: { module, moduleResolution, target: 'es2022', lib: ['es2023'], types: ['node'], strict: true, noEmit: true, skipLibCheck: false },
        files: ['consumer.ts'],
      }),
    });
    run(`TypeScript consumer, module/moduleResolution ${module}/${moduleResolution}`, process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', config], {
      cwd: project,
    });
  }

  // --- the command line ---------------------------------------------------------------------------------------------
  const help = run('npx halibut --help from the install', 'npx', ['--no-install', 'halibut', '--help'], { cwd: project });
  const docs = /^Documentation: (.+)$/m.exec(help)?.[1];
  if (docs === undefined || !existsSync(docs)) throw new Error(`halibut --help points at documentation that does not exist: ${docs}`);
  console.log(`ok  halibut --help points at ${docs}`);

  // --- documentation links -----------------------------------------------------------------------------------------
  const pages = ['README.md', ...readdirSync(join(installed, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  let links = 0;
  for (const page of pages) {
    // Code is not a link, even where it quotes text that looks like one (a Tentacle's messages do).
    const text = readFileSync(join(installed, page), 'utf8').replace(/```[\s\S]*?```/g, '').replace(/`[^`]*`/g, '');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
      links += 1;
      const path = join(installed, dirname(page), decodeURIComponent(target.split('#')[0]));
      if (!existsSync(path)) throw new Error(`${page} links to ${target}, which the installed package does not have`);
    }
  }
  console.log(`ok  ${links} relative links in README.md and docs/*.md resolve inside the installed package`);

  // --- publint and Are the Types Wrong ------------------------------------------------------------------------------
  process.stdout.write(run('publint --strict', bin('publint'), ['run', '--strict', tarball], { cwd: root }));
  // ESM-only by design: node10 resolution and TypeScript's node16-from-CommonJS view (which predates require(esm))
  // are the two the esm-only profile leaves out. Node >= 20.19 require()s the package, as checked above.
  const plain = { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' };
  process.stdout.write(run('attw --profile esm-only', bin('attw'), ['--profile', 'esm-only', tarball], { cwd: root, env: plain }));
  console.log('check-package: all checks passed');
} catch (error) {
  console.error(`check-package: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  if (keep) console.log(`kept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
}
