/**
 * The base of every dlog command: turns the engine's typed errors into one clear line on stderr and
 * an exit code from exit-codes.ts, so no command prints a stack trace for an expected failure.
 */
import {Command, Errors} from '@oclif/core'

import {DlogError, InvalidInputError} from '../engine/index.js'
import {ExitCode} from './exit-codes.js'

export class DeclinedError extends Error {
  constructor() {
    super('declined')
    this.name = 'DeclinedError'
  }
}

export abstract class DlogCommand extends Command {
  protected override async catch(err: Error & {exitCode?: number}): Promise<unknown> {
    if (err instanceof DeclinedError) return this.exit(ExitCode.DECLINED)
    if (err instanceof InvalidInputError) return this.error(err.message, {exit: ExitCode.USAGE})
    if (err instanceof DlogError) {
      return this.error(err.message, {exit: err.retriable ? ExitCode.UNAVAILABLE : ExitCode.FAILURE})
    }
    if (err instanceof Errors.ExitError || err instanceof Errors.CLIError) return super.catch(err)
    return super.catch(err)
  }
}
