/** Opt-in logging with credentials redacted; bodies are never logged. */

/** How much is logged: each level includes those after it. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'off';

/** Where log lines go; `console` fits. */
export interface Logger {
  /** Every request and answer. */
  debug(message: string, ...args: unknown[]): void;
  /** Retries and error answers. */
  info(message: string, ...args: unknown[]): void;
  /** Problems the SDK recovers from. */
  warn(message: string, ...args: unknown[]): void;
  /** Failures. */
  error(message: string, ...args: unknown[]): void;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, off: 4 };
const SECRET_HEADERS = new Set(['authorization', 'x-api-key', 'cookie', 'set-cookie']);

/** True for a known level name. */
export function isLogLevel(value: string | undefined): value is LogLevel {
  return value !== undefined && value in RANK;
}

/** A logger that passes on only lines at `level` or above, each prefixed with `[concord]`. */
export function levelLogger(target: Logger, level: LogLevel): Logger {
  const at =
    (name: Exclude<LogLevel, 'off'>) =>
    (message: string, ...args: unknown[]): void => {
      if (RANK[name] >= RANK[level]) {
        target[name](`[concord] ${message}`, ...args);
      }
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Headers as a plain object with credential values replaced by `***`. */
export function redactHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name] = SECRET_HEADERS.has(name.toLowerCase()) ? '***' : value;
  });
  return out;
}
