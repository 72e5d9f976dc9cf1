// The targets file of `halibut health` and `halibut run --targets`, parsed in process: what a line may look like,
// and that every kind of bad line is reported with the file, its line number and what is wrong.
import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TargetsFileError } from '../lib/cli/errors.js';
import { explain } from '../lib/cli/explain.js';
import { parseTargetsFile, readTargetsFile } from '../lib/cli/targets-file.js';
import { closeEverythingAfterwards } from './support/cleanup.js';
import { tempDir } from './support/cli.js';

closeEverythingAfterwards();

const T1 = '36F35047CE8B000CF4C671819A2DD1AFCDE3403D';
const T2 = '8e1c3a2f5b7d9e0a4c6b8d1f3e5a7c9b2d4f6a8e';

/** The error `text` is rejected with. */
function rejection(text: string, file = 'fleet.txt'): TargetsFileError {
  try {
    parseTargetsFile(text, file);
  } catch (err) {
    assert.ok(err instanceof TargetsFileError, String(err));
    return err;
  }
  assert.fail(`accepted: ${JSON.stringify(text)}`);
}

describe('targets file: what is accepted', () => {
  it('reads name, url and thumbprint per line, separated by any spaces or tabs, in file order', () => {
    const targets = parseTargetsFile(`web-01 https://web-01:10933/ ${T1}\n\tdb-01\t\thttps://10.0.4.17:10933   ${T2}  \n`, 'fleet.txt');
    assert.deepEqual(targets, [
      { name: 'web-01', url: 'https://web-01:10933/', thumbprint: T1, line: 1 },
      // The URL normalised, the thumbprint in upper case, as the library pins it.
      { name: 'db-01', url: 'https://10.0.4.17:10933/', thumbprint: T2.toUpperCase(), line: 2 },
    ]);
  });

  it('ignores blank lines, whole-line and trailing comments, CRLF line ends and a byte order mark', () => {
    const text = `\uFEFF# the fleet\r\n\r\n   \r\n  # indented comment\r\nweb-01 https://WEB-01:10933/ ${T1} # rack 4\r\nweb#2 https://web-02:10933/ ${T1}\t#tab, then comment\r\n`;
    const targets = parseTargetsFile(text, 'f');
    assert.deepEqual(
      targets.map((t) => [t.name, t.url, t.line]),
      [
        ['web-01', 'https://web-01:10933/', 5],
        // `#` inside a field is part of it; only `#` at the start of a line or after whitespace starts a comment.
        ['web#2', 'https://web-02:10933/', 6],
      ],
    );
  });
});

describe('targets file: what is rejected, with the line named', () => {
  it('a wrong number of fields', () => {
    const two = rejection(`# header\nweb-01 https://web-01:10933/ ${T1}\nweb-02 https://web-02:10933/\n`);
    assert.equal(two.code, 'ERR_CLI_TARGETS_FILE');
    assert.equal(two.line, 3);
    assert.equal(two.message, 'fleet.txt:3: expected 3 fields (name url thumbprint), found 2');
    const four = rejection(`web-01 https://web-01:10933/ ${T1} extra`);
    assert.equal(four.message, 'fleet.txt:1: expected 3 fields (name url thumbprint), found 4');
  });

  it('a URL that is not an agent URL', () => {
    const http = rejection(`web-01 http://web-01:10933/ ${T1}`);
    assert.equal(http.line, 1);
    assert.match(http.message, /^fleet\.txt:1: A listening agent's URL must start with https:\/\/ \(got 'http:\/\/web-01:10933\/'\)/);
    const garbage = rejection(`ok https://ok:1/ ${T1}\nweb-01 not-a-url ${T1}`);
    assert.equal(garbage.line, 2);
    assert.match(garbage.message, /Not a valid agent URL: 'not-a-url'.*the second field is the agent's URL/);
  });

  it('a thumbprint that is not 40 hexadecimal digits', () => {
    for (const bad of [T1.slice(1), `${T1}0`, T1.replace('3', 'G'), T1.match(/../g)!.join(':')]) {
      const error = rejection(`web-01 https://web-01:10933/ ${bad}`);
      assert.equal(error.line, 1, bad);
      assert.match(error.message, /the thumbprint '.*' is not 40 hexadecimal digits/, bad);
    }
    const pasted = rejection(`web-01 https://web-01:10933/ ${'A'.repeat(500)}`);
    assert.ok(pasted.message.length < 200, 'a long field is quoted short');
  });

  it('a name used twice, or with a control character', () => {
    const twice = rejection(`web-01 https://web-01:10933/ ${T1}\n\nweb-01 https://web-02:10933/ ${T1}`);
    assert.equal(twice.line, 3);
    assert.equal(twice.message, "fleet.txt:3: the name 'web-01' is already used on line 1");
    const control = rejection(`web\u001b[31m https://web-01:10933/ ${T1}`);
    assert.match(control.message, /^fleet\.txt:1: the name .* contains a control character/);
  });

  it('a file with no targets, empty or only comments', () => {
    for (const text of ['', '\n\n', '# nothing yet\n   # still nothing\n']) {
      const error = rejection(text);
      assert.equal(error.line, undefined);
      assert.equal(error.message, 'fleet.txt: no targets: expected one line per agent, name url thumbprint');
    }
  });

  it('is explained with its code and the format as the fix', () => {
    const explained = explain(rejection('just-a-name'));
    assert.equal(explained.code, 'ERR_CLI_TARGETS_FILE');
    assert.match(explained.hint ?? '', /name https:\/\/host:port\/ THUMBPRINT/);
  });

  it('reads from disk, naming the file as given', async () => {
    const dir = tempDir();
    const path = join(dir, 'fleet.txt');
    writeFileSync(path, `web-01 https://web-01:10933/ ${T1}\nbroken\n`);
    await assert.rejects(readTargetsFile(path), (err: unknown) => err instanceof TargetsFileError && err.file === path && err.message.startsWith(`${path}:2: `));
    await assert.rejects(readTargetsFile(join(dir, 'absent.txt')), { code: 'ENOENT' });
  });
});
