/**
 * Tentacle's enums and exit codes. Enums travel as integers (Json.NET writes no names), so each is a frozen map from
 * name to number plus the union of its numbers.
 */

/** Whether a script takes its isolation mutex shared (`NoIsolation`) or exclusive (`FullIsolation`). */
export const ScriptIsolationLevel = {
  /** Shared: runs alongside other NoIsolation scripts on the same mutex. */
  NoIsolation: 0,
  /** Exclusive: runs alone on its mutex. */
  FullIsolation: 1,
} as const;
/** A {@link ScriptIsolationLevel} value as it travels: 0 or 1. */
export type ScriptIsolationLevel = (typeof ScriptIsolationLevel)[keyof typeof ScriptIsolationLevel];

/**
 * The shell an additional script body is for. Unlike the other enums it appears as a dictionary key, and Json.NET
 * writes dictionary keys as enum names: `{"Bash": "..."}`.
 */
export const ScriptType = {
  /** Windows PowerShell (or pwsh). */
  PowerShell: 0,
  /** Bash, for Linux and macOS. */
  Bash: 1,
} as const;
/** A shell's name, the key of {@link ScriptBodies}. */
export type ScriptTypeName = keyof typeof ScriptType;

/** Where a script is in its life. Tentacle's source says these must never be re-ordered. */
export const ProcessState = {
  /** Accepted, not yet running (e.g. waiting for its isolation mutex). */
  Pending: 0,
  /** Running. */
  Running: 1,
  /** Finished; `ExitCode` is final. */
  Complete: 2,
} as const;
/** A {@link ProcessState} value as it travels: 0, 1 or 2. */
export type ProcessState = (typeof ProcessState)[keyof typeof ProcessState];

/** Where a log line came from: the script's stdout or stderr, or Tentacle's own diagnostics. */
export const ProcessOutputSource = {
  /** The script's standard output. */
  StdOut: 0,
  /** The script's standard error. */
  StdErr: 1,
  /** The Tentacle's own diagnostics about the script (e.g. waiting for the mutex). */
  Debug: 2,
} as const;
/** A {@link ProcessOutputSource} value as it travels: 0, 1 or 2. */
export type ProcessOutputSource = (typeof ProcessOutputSource)[keyof typeof ProcessOutputSource];

/**
 * Exit codes Tentacle produces itself. Any other value is the script's own. A running script that is cancelled
 * reports −1 on a current Tentacle (its process runner's own code for a killed process; a 4.4.8-era listener reported
 * the killed shell's 137), not {@link ScriptExitCodes.Canceled}, which is for a script cancelled while it still
 * waited for its isolation mutex.
 */
export const ScriptExitCodes = {
  /** `ExitCode` while the state is Pending or Running. */
  Running: 0,
  /** Tentacle failed around the script (e.g. could not write its log). */
  Fatal: -41,
  /** The shell could not be started. */
  PowerShellInvocationError: -42,
  /** Cancelled while waiting for the isolation mutex. */
  Canceled: -43,
  /** The isolation mutex was not acquired in time. */
  Timeout: -44,
  /** V2: a ticket the Tentacle has never seen. */
  UnknownScript: -45,
  /** V2: the script is no longer tracked (e.g. the Tentacle restarted while it ran). */
  UnknownResult: -46,
  /** Windows PowerShell never started within the startup-detection timeout. */
  PowerShellNeverStarted: -47,
  /** Kubernetes agent: the script's pod is gone. */
  KubernetesScriptPodNotFound: -81,
} as const;
