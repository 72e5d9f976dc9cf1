// 5: encoding and decoding a ScriptStatusResponseV2 with 1,000 log lines through the contract API, against the BSON
// package and zlib alone on the same document.
import { BSON, Int32 as BsonInt32, Long } from 'bson';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import {
  decodeScriptStatusResponseV2,
  encodeScriptStatusResponseV2,
  ProcessState,
  type ProcessOutputSource,
  type ScriptStatusResponseV2,
} from '../../lib/contracts/index.js';
import { decodeMessage, encodeResponse } from '../../lib/protocol/message-codec.js';
import { compare, type BenchContext, type ScenarioResult } from '../support/context.js';
import { forDuration, stats } from '../support/stats.js';

const TYPE = 'Octopus.Tentacle.Contracts.ScriptServiceV2.ScriptStatusResponseV2, Octopus.Tentacle.Contracts';
const LINES = 1000;
const when = new Date('2024-05-01T12:00:00.123Z');
const text = (i: number): string => `Deploying step ${i}: extracted package to /home/tentacle/Applications/app/1.0.${i} (${i * 37} files)`;

const ID = 'IScriptServiceV2::GetStatus[1] / 0f8fad5b-d9cb-469f-a165-70867728950e';

/** The status as a caller of the contract API holds it. */
function ourStatus(): ScriptStatusResponseV2 {
  return {
    Ticket: { TaskId: 'GkzVrD6pE0ivh1NGcfQyA' },
    Logs: Array.from({ length: LINES }, (_, i) => ({ Source: (i % 3) as ProcessOutputSource, Occurred: when, Text: text(i) })),
    NextLogSequence: LINES,
    State: ProcessState.Complete,
    ExitCode: 0,
  };
}

function bsonDocument() {
  return {
    Message: {
      $type: 'Halibut.Transport.Protocol.ResponseMessage, Halibut',
      id: 'IScriptServiceV2::GetStatus[1] / 0f8fad5b-d9cb-469f-a165-70867728950e',
      error: null,
      result: {
        $type: TYPE,
        Ticket: { TaskId: 'GkzVrD6pE0ivh1NGcfQyA' },
        Logs: Array.from({ length: LINES }, (_, i) => ({ Source: new BsonInt32(i % 3), Occurred: when, Text: text(i) })),
        NextLogSequence: Long.fromNumber(LINES),
        State: new BsonInt32(2),
        ExitCode: new BsonInt32(0),
      },
    },
  };
}

export async function codec(ctx: BenchContext): Promise<ScenarioResult> {
  const status = ourStatus();
  const theirs = bsonDocument();
  // The path a call takes: the contract encoder, the message encoder and DEFLATE; then INFLATE, the message decoder
  // and the contract decoder (which checks every field).
  const encodeOurs = (): Buffer => encodeResponse({ id: ID, error: null, result: encodeScriptStatusResponseV2(status) }).bson;
  const oursOnce = async (): Promise<void> => {
    const wire = deflateRawSync(encodeOurs());
    const decoded = decodeMessage(inflateRawSync(wire));
    if (decoded.kind !== 'response') throw new Error('bad decode');
    if (decodeScriptStatusResponseV2(decoded.message.result).Logs.length !== LINES) throw new Error('bad decode');
  };
  const bareOnce = async (): Promise<void> => {
    const wire = deflateRawSync(BSON.serialize(theirs));
    BSON.deserialize(inflateRawSync(wire));
  };
  // Same bytes in, so the comparison is like for like.
  const ourBytes = encodeOurs();
  const theirBytes = BSON.serialize(theirs);
  if (!ourBytes.equals(Buffer.from(theirBytes))) throw new Error('the two encoders disagree on the document');
  for (let i = 0; i < 50; i++) {
    await oursOnce();
    await bareOnce();
  }
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < ctx.rounds; r++) {
    a.push((await forDuration(ctx.roundMs, oursOnce)).perSecond);
    b.push((await forDuration(ctx.roundMs, bareOnce)).perSecond);
  }
  return compare(
    {
      scenario: `codec: ScriptStatusResponseV2 with ${LINES} log lines, encode + decode`,
      unit: 'messages/s',
      value: stats(a),
      baselineName: 'bson package + zlib alone, same document',
      baseline: stats(b),
      extra: { bsonBytes: ourBytes.length, compressedBytes: deflateRawSync(ourBytes).length },
    },
    Number((1 / 1.5).toFixed(3)),
  );
}
