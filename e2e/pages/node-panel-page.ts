/**
 * The desktop app's node panel as a person sees it, and the bridge that lets a browser page
 * drive it: the page gets a `window.palaver` built by the preload's own `createPalaverApi`,
 * whose calls go to the real IPC handlers in front of a real `NodeController` in the test
 * process. Only Electron's IPC transport is replaced.
 */
import { expect, type Locator, type Page } from '@playwright/test'
import { createIpcHandlers } from '../../src/main/ipc-handlers.ts'
import type { NodeController } from '../../src/main/node-controller.ts'
import { createPalaverApi, type InvokeChannel } from '../../src/shared/ipc.ts'

/** Installs `window.palaver` in the page (before it loads), over a binding to the handlers. */
export async function bridgeToController(page: Page, controller: NodeController): Promise<void> {
  const handlers = createIpcHandlers(
    controller,
    { setUnread: () => {}, focus: () => {} },
    () => true,
  )
  await page.exposeBinding('__palaverInvoke', (source, channel: InvokeChannel, args: unknown[]) =>
    handlers[channel]({ senderFrame: { url: source.frame.url() } }, ...args),
  )
  controller.on('status', (status) => {
    void page
      .evaluate(
        (s) => (window as unknown as { __palaverEmit: (s: unknown) => void }).__palaverEmit(s),
        status,
      )
      .catch(() => {})
  })
  await page.addInitScript(`(() => {
    const listeners = new Set()
    const createPalaverApi = ${createPalaverApi.toString()}
    window.__palaverEmit = (status) => { for (const listener of listeners) listener(status) }
    window.palaver = createPalaverApi({
      invoke: (channel, ...args) => window.__palaverInvoke(channel, args),
      on: (channel, listener) => {
        if (channel !== 'node:status-changed') return () => {}
        listeners.add(listener)
        return () => listeners.delete(listener)
      },
    })
  })()`)
}

export class NodePanelPage {
  readonly page: Page
  readonly dialog: Locator
  /** The run state badge; its `data-state` is the node's state. */
  readonly state: Locator
  readonly peers: Locator

  constructor(page: Page) {
    this.page = page
    this.dialog = page.getByRole('dialog', { name: 'This machine’s node' })
    this.state = this.dialog.getByTestId('node-state')
    this.peers = this.dialog.getByTestId('peer')
  }

  /** Opens the panel from the chat's top bar. */
  async open(): Promise<void> {
    await this.page.getByRole('button', { name: 'This machine’s node' }).click()
    await expect(this.dialog).toBeVisible()
  }

  async start(): Promise<void> {
    await this.dialog.getByRole('button', { name: 'Start node' }).click()
    await expect(this.state).toHaveAttribute('data-state', 'running')
  }

  async addPeer(addr: string): Promise<void> {
    await this.dialog.getByLabel('Peer address').fill(addr)
    await this.dialog.getByRole('button', { name: 'Add peer' }).click()
  }

  /** Shows this node's invite and returns its code, as a person would copy it. */
  async showInvite(): Promise<string> {
    await this.section('Invite a machine').getByRole('button', { name: 'Show invite' }).click()
    const code = this.dialog.getByTestId('invite-code')
    await expect(code).toHaveValue(/^palaver1:/)
    return code.inputValue()
  }

  /** Pastes an invite code into "Join a mesh" and joins. */
  async joinMesh(code: string): Promise<void> {
    const section = this.section('Join a mesh')
    await section.getByLabel('Invite code from another machine').fill(code)
    await section.getByRole('button', { name: 'Join mesh' }).click()
  }

  /** The row of the peer configured as `addr`. */
  peer(addr: string): Locator {
    return this.dialog.locator(`[data-testid="peer"][data-addr="${addr}"]`)
  }

  /** Everything the panel says went wrong. */
  alerts(): Locator {
    return this.dialog.getByRole('alert')
  }

  /** One of the panel's sections by its heading: `Mesh`, `Settings`, … */
  section(heading: string): Locator {
    return this.dialog.getByRole('region', { name: heading })
  }
}
