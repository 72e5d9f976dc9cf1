/**
 * The diagnostics channels' names and message types, for code that subscribes with `node:diagnostics_channel`.
 * The publishing helpers stay internal.
 */
export {
  diagnosticsChannels,
  type CallRetryMessage,
  type CallTraceContext,
  type ConnectionClosedMessage,
  type ConnectionIdentifiedMessage,
  type ConnectionOpenedMessage,
  type PoolLimit,
  type PoolWaitMessage,
  type PoolWaitOutcome,
  type ScriptCompletedMessage,
  type ScriptStartedMessage,
  type ScriptPausedMessage,
  type ScriptStatusMessage,
  type StreamTransferMessage,
} from './channels.js';
