/**
 * The main process's answers to the IPC contract (src/shared/ipc.ts), as plain functions: each
 * checks that the call comes from the app's own window, checks its arguments with the
 * contract's schemas, and answers an `IpcResult`. Electron is only the transport (./ipc.ts),
 * so all of this is tested without it.
 */
import {
  type InvokeChannel,
  type InvokeResults,
  type IpcResult,
  invokeChannels,
} from '../shared/ipc.ts'
import { ControllerError, type NodeController } from './node-controller.ts'
import { OptionsError } from './node/options.ts'

/** What a handler knows of the caller: the frame that sent the call (Electron's senderFrame). */
export interface IpcCaller {
  senderFrame: { url: string } | null
}

export type IpcHandler<C extends InvokeChannel> = (
  caller: IpcCaller,
  ...args: unknown[]
) => Promise<IpcResult<InvokeResults[C]>>
export type IpcHandlers = { [C in InvokeChannel]: IpcHandler<C> }

export interface AppActions {
  setUnread(count: number): void
  focus(): void
}

/**
 * @param isOwnFrame whether a frame is the app's own window's page (not a foreign page, an
 *   iframe, or anything navigated elsewhere)
 */
export function createIpcHandlers(
  controller: NodeController,
  app: AppActions,
  isOwnFrame: (frame: { url: string }) => boolean,
): IpcHandlers {
  function handler<C extends InvokeChannel>(
    channel: C,
    act: (...args: never[]) => InvokeResults[C] | Promise<InvokeResults[C]>,
  ): IpcHandler<C> {
    return async (caller, ...args) => {
      if (!caller.senderFrame || !isOwnFrame(caller.senderFrame)) {
        return { ok: false, error: { code: 'forbidden', message: 'not the app’s own window' } }
      }
      const parsed = invokeChannels[channel].safeParse(args)
      if (!parsed.success) {
        const issue = parsed.error.issues[0]
        const where = issue?.path.length ? `argument ${issue.path.join('.')}` : 'arguments'
        return {
          ok: false,
          error: { code: 'bad_request', message: `${where}: ${issue?.message ?? 'invalid'}` },
        }
      }
      try {
        return { ok: true, value: await act(...(parsed.data as never[])) }
      } catch (error) {
        if (error instanceof ControllerError)
          return { ok: false, error: { code: error.code, message: error.message } }
        if (error instanceof OptionsError)
          return { ok: false, error: { code: 'bad_request', message: error.message } }
        return {
          ok: false,
          error: {
            code: 'internal',
            message: error instanceof Error ? error.message : String(error),
          },
        }
      }
    }
  }

  return {
    'node:status': handler('node:status', () => controller.status()),
    'node:start': handler('node:start', () => controller.start()),
    'node:stop': handler('node:stop', () => controller.stop()),
    'node:configure': handler(
      'node:configure',
      (settings: Parameters<NodeController['configure']>[0]) => controller.configure(settings),
    ),
    'peers:add': handler('peers:add', (addr: string) => controller.addPeer(addr)),
    'peers:remove': handler('peers:remove', (addr: string) => controller.removePeer(addr)),
    'invite:create': handler('invite:create', () => controller.createInvite()),
    'mesh:join': handler('mesh:join', (code: string) => controller.joinMesh(code)),
    'app:set-unread': handler('app:set-unread', (count: number) => {
      app.setUnread(count)
      return null
    }),
    'app:focus': handler('app:focus', () => {
      app.focus()
      return null
    }),
  }
}
