/**
 * Who the user is: an Ed25519 key pair made on first use and kept in this browser's IndexedDB
 * (docs/protocol.md, "Shared terms": a keyed user). The user id is "k" and 40 hex digits of
 * SHA-256 of the public key, so nobody without the secret key can use it.
 *
 * The secret key never leaves this module: it hands out only the public user and two operations,
 * the `prove` of a session and the `usig` of a send. Signing is pure JavaScript (@noble/curves),
 * because a page a LAN guest opens over plain http is not a secure context and has no WebCrypto
 * `subtle`; `crypto.getRandomValues`, which such a page has, makes the key.
 */
import { SECRET_KEY_BYTES, nobleEd25519 } from '../../../shared/ed25519.ts'
import { generateSecretKey } from '../../../shared/keys.ts'
import { keyedUserSigner, type KeyedUserSigner } from '../client/keyed-user.ts'
import { moveUserState, type KeyValueStorage } from '../client/palaver-client.ts'

/** IndexedDB's database, object store and record of the user's secret key. */
const DATABASE_NAME = 'palaver'
const DATABASE_VERSION = 1
const KEY_STORE_NAME = 'keys'
const USER_KEY_RECORD = 'user'
/**
 * How long the page waits for IndexedDB before it goes on with a key of its own (an IndexedDB
 * that never answers would otherwise leave the page blank).
 */
export const KEY_STORE_TIMEOUT_MS = 5_000
/** Where a keyless version of the UI kept the id it made (see `retireKeylessId`). */
const KEYLESS_ID_KEY = 'palaver.user.id'

export interface UserIdentity extends KeyedUserSigner {
  /**
   * Whether the key is kept in this browser. False where the browser refuses the page IndexedDB:
   * the identity then lasts as long as the page, and a reload is someone new.
   */
  readonly persistent: boolean
}

/** Where the secret key is kept. */
export interface SecretKeyStore {
  /**
   * The stored secret key, or else `make()`'s, stored. Two pages that ask at once get the same
   * key.
   */
  loadOrCreate(make: () => Uint8Array): Promise<Uint8Array>
}

/**
 * The user's identity from `store` (IndexedDB by default), made on first use. Never rejects:
 * where the store fails or does not answer within `KEY_STORE_TIMEOUT_MS`, the identity is a new
 * one that is not kept (`persistent: false`).
 */
export async function loadUserIdentity(
  store: SecretKeyStore = indexedDbKeyStore,
  timeoutMs = KEY_STORE_TIMEOUT_MS,
): Promise<UserIdentity> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('the key store did not answer')), timeoutMs)
  })
  try {
    const secretKey = await Promise.race([store.loadOrCreate(generateSecretKey), timeout])
    return identityOf(secretKey, true)
  } catch {
    return identityOf(generateSecretKey(), false)
  } finally {
    clearTimeout(timer)
  }
}

let pageIdentity: Promise<UserIdentity> | undefined

/**
 * The identity of this page, loaded once however many components ask. A keyless id an earlier
 * version of the UI left in `storage` is retired in favour of it (`retireKeylessId`).
 */
export function loadPageIdentity(storage: KeyValueStorage): Promise<UserIdentity> {
  pageIdentity ??= loadUserIdentity().then((identity) => {
    retireKeylessId(storage, identity.id)
    return identity
  })
  return pageIdentity
}

/**
 * An earlier version of the UI made a keyless id and kept it in storage. A user who had one is
 * now the keyed user: the rooms they were in and the messages they had not sent yet move to the
 * keyed id (those go out under it), and the old id is forgotten. Their old messages stay under
 * the old id, marked unverified like any keyless user's.
 */
export function retireKeylessId(storage: KeyValueStorage, keyedId: string): void {
  const keylessId = storage.getItem(KEYLESS_ID_KEY)
  if (keylessId === null) return
  if (keylessId !== keyedId) moveUserState(storage, keylessId, keyedId)
  storage.removeItem(KEYLESS_ID_KEY)
}

function identityOf(secretKey: Uint8Array, persistent: boolean): UserIdentity {
  return { ...keyedUserSigner(nobleEd25519.signer(secretKey)), persistent }
}

/** The secret key in IndexedDB, as the 32 raw bytes (a structured clone of a Uint8Array). */
const indexedDbKeyStore: SecretKeyStore = {
  async loadOrCreate(make) {
    const database = await openDatabase()
    try {
      return await loadOrCreateIn(database, make)
    } finally {
      database.close()
    }
  },
}

function openDatabase(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE_NAME, DATABASE_VERSION)
    request.onupgradeneeded = () => request.result.createObjectStore(KEY_STORE_NAME)
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error ?? new Error('IndexedDB did not open'))
  })
}

/**
 * Reads the key and, when there is none (or not a valid one), stores a new one in the same
 * read-write transaction: IndexedDB runs such transactions one at a time, so two tabs opened at
 * once cannot each make and keep a key of their own.
 */
function loadOrCreateIn(database: IDBDatabase, make: () => Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const transaction = database.transaction(KEY_STORE_NAME, 'readwrite')
    const store = transaction.objectStore(KEY_STORE_NAME)
    let secretKey: Uint8Array | undefined
    const read = store.get(USER_KEY_RECORD)
    read.onsuccess = () => {
      const stored: unknown = read.result
      if (stored instanceof Uint8Array && stored.length === SECRET_KEY_BYTES) secretKey = stored
      else {
        secretKey = make()
        store.put(secretKey, USER_KEY_RECORD)
      }
    }
    transaction.oncomplete = () =>
      secretKey ? resolve(secretKey) : reject(new Error('no key was read or stored'))
    transaction.onerror = () => reject(transaction.error ?? new Error('the key was not stored'))
    transaction.onabort = () => reject(transaction.error ?? new Error('the key was not stored'))
  })
}
