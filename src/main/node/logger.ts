/**
 * The logging surface the node needs. pino's loggers fit it (the CLI passes one); tests and
 * embedders may pass anything else with these four methods.
 */
export interface LogFn {
  (fields: object, message: string): void
  (message: string): void
}

export interface Logger {
  debug: LogFn
  info: LogFn
  warn: LogFn
  error: LogFn
}

const nothing: LogFn = () => {}

export const silentLogger: Logger = { debug: nothing, info: nothing, warn: nothing, error: nothing }
