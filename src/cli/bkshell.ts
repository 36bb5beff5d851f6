/**
 * What every `dlog bkshell` command shares, so each command file keeps only its own parse → engine
 * call → render: the --conf flag (else BOOKIE_CONF) and its loading with the warnings on stderr, the
 * -l ledger id flag and its range check, a connection to the cluster (a ZooKeeper client, a ledger
 * metadata store or a ledger client) closed however the command ends, and the (Y or N) prompt.
 */
import {Flags} from '@oclif/core'

import {
  type BookieServerConfig,
  isLedgerId,
  LEDGER_ID_MAX,
  LedgerClient,
  loadBookieConfigFrom,
  ZKClient,
  ZkLedgerMetadataStore,
} from '../engine/index.js'
import {DlogCommand} from './base-command.js'
import {closing} from './closing.js'
import {ExitCode} from './exit-codes.js'
import {confirm, endAnswerLine} from './prompt.js'

/** `-c/--conf FILE`: the bookie configuration; without it the command reads $BOOKIE_CONF. */
export const confFlag = Flags.string({char: 'c', description: 'bookie configuration file (default: $BOOKIE_CONF)'})

/** `-l/--ledgerid ID`: the ledger a command works on; check it with checkLedgerId(). */
export const ledgerIdFlag = Flags.integer({char: 'l', description: 'the ledger id', required: true})

export abstract class BkshellCommand extends DlogCommand {
  private prompted = false

  /** Exits with a usage error unless `id` is a ledger id (flags parse any integer). */
  protected checkLedgerId(id: number): void {
    if (!isLedgerId(id)) this.error(`ledger id must be in [0, ${LEDGER_ID_MAX}], got ${id}`, {exit: ExitCode.USAGE})
  }

  /** The bookie configuration from --conf, else BOOKIE_CONF; its warnings go to stderr. */
  protected loadConfig(conf: string | undefined): BookieServerConfig {
    const {config, warnings} = loadBookieConfigFrom({conf, env: process.env})
    for (const w of warnings) this.warn(w)
    return config
  }

  /** A ZooKeeper client for the configured ensemble; the caller closes it. */
  protected connectZk(config: BookieServerConfig): Promise<ZKClient> {
    return ZKClient.connect({connectString: config.zkServers, sessionTimeoutMs: config.zkTimeoutMs})
  }

  /** Runs `fn` with a ZooKeeper client, closed afterwards even when `fn` throws or exits. */
  protected async withZk<T>(config: BookieServerConfig, fn: (zk: ZKClient) => Promise<T>): Promise<T> {
    return closing(await this.connectZk(config), fn)
  }

  /** Runs `fn` with the ledger metadata store under zkLedgersRootPath, closed afterwards. */
  protected async withMetadataStore<T>(config: BookieServerConfig, fn: (store: ZkLedgerMetadataStore) => Promise<T>): Promise<T> {
    return closing(await ZkLedgerMetadataStore.connect(config), fn)
  }

  /** Runs `fn` with a ledger client for the configured cluster, closed afterwards. */
  protected async withLedgerClient<T>(config: BookieServerConfig, fn: (client: LedgerClient) => Promise<T>): Promise<T> {
    const client = await LedgerClient.connect({zkServers: config.zkServers, zkSessionTimeoutMs: config.zkTimeoutMs, ledgersRootPath: config.zkLedgersRootPath})
    return closing(client, fn)
  }

  /** Asks `<question> (Y or N) ` (EOF = No), remembering that it did for endPromptLine(). */
  protected ask(question: string): Promise<boolean> {
    this.prompted = true
    return confirm(question)
  }

  /** After a prompt (if there was one), end the line a piped answer left open, before the result. */
  protected endPromptLine(): void {
    if (this.prompted) endAnswerLine()
  }
}
