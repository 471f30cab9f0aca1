/**
 * The chat UI as a person sees it, for end-to-end tests: locators by role, label and the test
 * ids the UI publishes (data-status, data-state, …), never by layout.
 */
import { expect, type Locator, type Page } from '@playwright/test'

export class ChatPage {
  readonly page: Page
  readonly connection: Locator
  readonly unsent: Locator

  constructor(page: Page) {
    this.page = page
    this.connection = page.getByTestId('connection')
    this.unsent = page.getByTestId('unsent')
  }

  /** Opens a node's page and gets past the name screen. */
  async open(httpUrl: string, name: string): Promise<void> {
    await this.page.goto(httpUrl)
    await this.page.getByLabel('Display name').fill(name)
    await this.page.getByRole('button', { name: 'Start chatting' }).click()
    await this.expectConnected()
  }

  async expectConnected(): Promise<void> {
    await expect(this.connection).toHaveAttribute('data-status', 'connected')
  }

  log(room = 'general'): Locator {
    return this.page.getByRole('log', { name: `Messages in ${room}` })
  }

  messages(room = 'general'): Locator {
    return this.log(room).getByTestId('message')
  }

  /** The message rows whose text is exactly `text`. */
  message(text: string, room = 'general'): Locator {
    return this.messages(room).filter({
      has: this.page.getByTestId('text').getByText(text, { exact: true }),
    })
  }

  composer(room = 'general'): Locator {
    return this.page.getByLabel(`Message ${room}`)
  }

  async send(text: string, room = 'general'): Promise<void> {
    await this.composer(room).fill(text)
    await this.composer(room).press('Enter')
  }

  /** Waits until `text` is shown exactly once and acknowledged. */
  async expectSent(text: string, room = 'general'): Promise<void> {
    await expect(this.message(text, room)).toHaveCount(1)
    await expect(this.message(text, room)).toHaveAttribute('data-state', 'sent')
  }

  async joinRoom(name: string): Promise<void> {
    await this.page.getByLabel('Join or create a room').fill(name)
    await this.page.getByRole('button', { name: 'Join', exact: true }).click()
    await this.roomButton(name).click()
  }

  roomButton(name: string): Locator {
    return this.page
      .getByRole('navigation', { name: 'Rooms' })
      .getByRole('button', { name: new RegExp(`^${name}`) })
  }

  /** The user of this page in the room's people list; `data-online` says how it is shown. */
  selfInPeople(room = 'general'): Locator {
    return this.page
      .getByRole('list', { name: `Online in ${room}` })
      .locator('[data-testid="online-user"][data-self="true"]')
  }

  /** The people online in the room, as listed. */
  onlineUsers(room = 'general'): Locator {
    return this.page.getByRole('list', { name: `Online in ${room}` }).getByTestId('online-user')
  }

  /** The user id of this page's identity (`data-user-id` of the name button). */
  async userId(): Promise<string> {
    const id = await this.nameButton().getAttribute('data-user-id')
    if (id === null) throw new Error('the page has no user id yet')
    return id
  }

  /** The button with the user's name that opens the rename dialog. */
  nameButton(): Locator {
    return this.page.getByRole('button', { name: /, change your name$/ })
  }

  /** Opens the "Change node" dialog and returns it. */
  async openNodePicker(): Promise<Locator> {
    await this.page.getByRole('button', { name: 'Change node' }).click()
    const dialog = this.page.getByRole('dialog', { name: 'Change node' })
    await expect(dialog).toBeVisible()
    return dialog
  }

  /** The up/down mark of a node in the open "Change node" dialog. */
  reachabilityOf(nodeName: string): Locator {
    return this.page
      .getByRole('dialog', { name: 'Change node' })
      .getByRole('button', { name: new RegExp(`^${nodeName} ws://`) })
      .getByTestId('node-reachability')
  }

  /** Every message text in the room's rendered rows. */
  async texts(room = 'general'): Promise<string[]> {
    return this.messages(room).getByTestId('text').allTextContents()
  }
}
