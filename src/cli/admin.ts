/**
 * What every `dlog admin` command shares, so each command file keeps only its own parse → engine call →
 * render: the namespace URI argument (a usage error without it, the URI parsed), a ZooKeeper session to
 * the URI's ensemble closed however the command ends, and a binding printed between blank lines as the
 * original DistributedLogAdmin prints it (the (Y or N) prompt is prompt.ts confirmOrDecline).
 */
import {
  bindingConfigJson,
  type NamespaceBinding,
  type NamespaceUri,
  parseNamespaceUri,
  ZKClient,
} from '../engine/index.js'
import {DlogCommand} from './base-command.js'
import {closing} from './closing.js'
import {ExitCode} from './exit-codes.js'

/** The session timeout of an admin command's ZooKeeper client: one short metadata read or write. */
const ADMIN_ZK_SESSION_TIMEOUT_MS = 10_000

export abstract class AdminCommand extends DlogCommand {
  /** The parsed namespace URI; a usage error when the argument is missing (a bad URI is InvalidInputError). */
  protected namespaceUri(arg: string | undefined): NamespaceUri {
    if (arg === undefined) this.error('No distributedlog uri specified.', {exit: ExitCode.USAGE})
    return parseNamespaceUri(arg)
  }

  /** Runs `fn` with a ZooKeeper client for the URI's servers, closed afterwards even when `fn` throws or exits. */
  protected async withZk<T>(uri: NamespaceUri, fn: (zk: ZKClient) => Promise<T>): Promise<T> {
    return closing(await ZKClient.connect({connectString: uri.zkServers, sessionTimeoutMs: ADMIN_ZK_SESSION_TIMEOUT_MS}), fn)
  }

  /** `<heading>`, a blank line, the binding's Thrift JSON, a blank line. */
  protected logBinding(heading: string, binding: NamespaceBinding): void {
    this.log(heading)
    this.log('')
    this.log(bindingConfigJson(binding))
    this.log('')
  }
}
