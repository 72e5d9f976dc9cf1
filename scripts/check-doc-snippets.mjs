#!/usr/bin/env node
// Type-checks every ```ts block in README.md and docs/*.md against the built package, as a user's code would be
// checked: each block becomes a module in .doc-snippets/ (inside the package, so `import … from 'halibut-client'`
// resolves through package.json's exports to dist/, as it does for a user), and one TypeScript program checks them
// all. A block that is deliberately incomplete is marked ```ts fragment and left out. Errors are reported at the
// Markdown file and line they come from, and the generated files are left in .doc-snippets/ to look at (they are
// removed when everything passes). Run `npm run build` first (`npm run check:docs` does).
import { spawnSync } from 'node:child_process';
import console from 'node:console';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, '.doc-snippets');

if (!existsSync(join(root, 'dist', 'index.d.ts'))) {
  console.error('check-doc-snippets: dist/ is not built; run `npm run build` first');
  process.exit(1);
}

const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];

/** Each ```ts block of a page: its first line's number in the page, and its text. Fragments are counted apart. */
function blocks(page) {
  const lines = readFileSync(join(root, page), 'utf8').split('\n');
  const found = [];
  let fragments = 0;
  for (let i = 0; i < lines.length; i++) {
    // A fence's info string holds no backtick (CommonMark), so a line that starts with an inline ```` ```ts ```` is not one.
    const fence = /^```([^`\s]*)([^`]*)$/.exec(lines[i]);
    if (fence === null) continue;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++;
    if (fence[1] === 'ts' || fence[1] === 'typescript') {
      if (fence[2].trim().split(/\s+/).includes('fragment')) fragments++;
      else found.push({ line: i + 2, text: lines.slice(i + 1, end).join('\n') });
    }
    i = end;
  }
  return { found, fragments };
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out);
/** Generated file → where its block starts in the Markdown. */
const origin = new Map();
let total = 0;
let fragments = 0;
for (const page of pages) {
  const { found, fragments: skipped } = blocks(page);
  fragments += skipped;
  found.forEach((block, n) => {
    const file = `${page.replace(/\.md$/, '').replace(/[/.]/g, '-')}-${n + 1}.ts`;
    // The block's lines keep their numbers; `export {}` after them makes every block a module (top-level await).
    writeFileSync(join(out, file), `${block.text}\nexport {};\n`);
    origin.set(file, { page, line: block.line });
    total++;
  });
}
writeFileSync(
  join(out, 'tsconfig.json'),
  JSON.stringify(
    {
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        lib: ['es2023'],
        types: ['node'],
        strict: true,
        noEmit: true,
        skipLibCheck: true,
      },
      include: ['*.ts'],
    },
    null,
    2,
  ),
);

const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(out, 'tsconfig.json'), '--pretty', 'false'], {
  cwd: root,
  encoding: 'utf8',
});
// Report each error where it is in the Markdown: page:line, then TypeScript's message.
const report = `${tsc.stdout}${tsc.stderr}`.replace(/^\.doc-snippets\/([^(]+)\((\d+),(\d+)\)/gm, (whole, file, line, col) => {
  const at = origin.get(file);
  return at === undefined ? whole : `${at.page}:${at.line + Number(line) - 1}:${col}`;
});
if (tsc.status !== 0) {
  process.stderr.write(report);
  console.error(`check-doc-snippets: the code blocks above do not type-check against the built package (${relative(root, out)}/ holds them)`);
  process.exit(1);
}
rmSync(out, { recursive: true, force: true });
console.log(`check-doc-snippets: ${total} blocks in ${pages.length} pages type-check against the built package (${fragments} marked as fragments)`);
