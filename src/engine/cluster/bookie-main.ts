/**
 * The entry point of a sandbox bookie's child process: `node bookie-main.js <bookie.conf>`, forked by
 * BookieProcess with an IPC channel. It runs one BookieService (the same as `dlog bookie --conf`) and
 * reports to the parent over IPC: {type: 'ready', ...} once registered, {type: 'failed', ...} if the
 * start fails (addressInUse tells the parent to retry with other ports).
 *
 * Orphan-free: the IPC channel closes when the parent dies, even by kill -9; the bookie then closes
 * within a bound and exits. SIGTERM/SIGINT close it gracefully (exit 0).
 */
import {realpathSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {errorMessage} from '../common/errors.js'
import {Logger} from '../common/logger.js'
import {loadBookieConfig} from '../bookie/config.js'
import {BookieService} from '../bookie/server/bookie-service.js'
import type {BookieChildMessage} from './bookie-process.js'
import {isAddressInUse} from './ports.js'

/** After the parent is gone, the graceful close gets this long before the process just exits. */
const ORPHAN_CLOSE_MS_MAX = 3_000

/** Resolves once the message is handed to the channel (so a disconnect after it does not drop it). */
function send(msg: BookieChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || process.send === undefined) return resolve()
    process.send(msg, undefined, {}, () => resolve())
  })
}

export async function runBookieChild(confPath: string): Promise<void> {
  const logger = new Logger({scope: 'dlog'})
  let service: BookieService | undefined
  let stopping = false
  const stop = (code: number, boundMs?: number): void => {
    if (stopping) return
    stopping = true
    if (boundMs !== undefined) setTimeout(() => process.exit(code), boundMs).unref()
    const closed = service?.close() ?? Promise.resolve()
    closed.then(
      () => process.exit(code),
      () => process.exit(1),
    )
  }
  // The parent died (or closed the channel on purpose): never outlive it.
  process.on('disconnect', () => {
    logger.warn('parent process gone: stopping the bookie')
    stop(1, ORPHAN_CLOSE_MS_MAX)
  })
  process.once('SIGTERM', () => stop(0))
  process.once('SIGINT', () => stop(0))
  try {
    const {config, warnings} = loadBookieConfig(confPath)
    for (const w of warnings) logger.warn(w)
    service = await BookieService.start({
      config,
      logger,
      onFatal: (reason) => {
        logger.error(reason)
        stop(1)
      },
    })
    if (stopping) {
      // A signal arrived while starting: the stop above saw no service yet.
      await service.close()
      process.exit(0)
    }
    await send({type: 'ready', bookieId: service.bookieId, port: service.port, statsPort: service.stats?.port ?? -1})
  } catch (e) {
    logger.error('bookie failed to start', {error: errorMessage(e)})
    await send({type: 'failed', message: errorMessage(e), addressInUse: isAddressInUse(e)})
    process.exitCode = 1
    process.disconnect?.()
  }
}

function isMain(): boolean {
  const arg = process.argv[1]
  if (arg === undefined) return false
  try {
    return realpathSync(arg) === realpathSync(fileURLToPath(import.meta.url))
  } catch {
    return false
  }
}

if (isMain()) {
  const conf = process.argv[2]
  if (conf === undefined || process.send === undefined) {
    process.stderr.write('usage: bookie-main <bookie.conf> (started by dlog local with an IPC channel)\n')
    process.exit(2)
  }
  void runBookieChild(conf)
}
