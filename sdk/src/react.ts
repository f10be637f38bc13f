/**
 * React bindings: one Vigil client per provider, created in the browser after mount (never
 * during server rendering) and destroyed on unmount.
 *
 *   <VigilProvider endpoint="https://collector.example" siteKey="shop"><App /></VigilProvider>
 *   const { getToken } = useVigil()
 *   const token = await getToken('checkout', { account })
 *
 * `getToken` may be called before the provider has mounted: it waits for the client, at
 * most the client's timeout, and the client's own call is bounded by it too.
 * Nothing here throws into the page: misuse rejects with a VigilError.
 */
import { createContext, createElement, useContext, useEffect, useMemo, useState, type ReactNode } from 'react'
import { init, type GetTokenOptions, type VigilClient } from './client'
import { VigilError } from './errors'
import type { VigilOptions } from './options'

export interface VigilProviderProps extends VigilOptions {
  children?: ReactNode
}

export interface UseVigil {
  /** A sealed verdict token for `action`; rejects with a VigilError (see VigilErrorCode). */
  getToken(action: string, options?: GetTokenOptions): Promise<string>
  /** True once the client exists (after the provider mounted in a browser). */
  ready: boolean
}

/**
 * The provider's current client. React may mount, unmount and mount again (StrictMode,
 * Fast Refresh), so calls made while there is none wait for the next one, at most the
 * client's timeout.
 */
class ClientHolder {
  private client: VigilClient | null = null
  private waiters = new Set<(client: VigilClient) => void>()

  set(client: VigilClient): void {
    this.client = client
    for (const wake of this.waiters) wake(client)
    this.waiters.clear()
  }

  clear(client: VigilClient): void {
    if (this.client === client) this.client = null
  }

  get(timeoutMs: number): Promise<VigilClient> {
    if (this.client) return Promise.resolve(this.client)
    return new Promise((resolve, reject) => {
      const wake = (client: VigilClient): void => {
        clearTimeout(timer)
        resolve(client)
      }
      const timer = setTimeout(() => {
        this.waiters.delete(wake)
        reject(new VigilError('timeout', 'no VigilProvider was mounted in time (getToken during server rendering?)'))
      }, timeoutMs)
      this.waiters.add(wake)
    })
  }

  async getToken(action: string, options: GetTokenOptions | undefined, timeoutMs: number): Promise<string> {
    const client = await this.get(timeoutMs)
    try {
      return await client.getToken(action, options)
    } catch (err) {
      // React remounted the provider while the call was in flight (StrictMode does at once,
      // a changed siteKey does too): the new client answers instead.
      if (err instanceof VigilError && err.code === 'destroyed' && this.client && this.client !== client) return this.client.getToken(action, options)
      throw err
    }
  }
}

const DEFAULT_TIMEOUT_MS = 5000
const VigilContext = createContext<UseVigil | null>(null)

export function VigilProvider({ children, endpoint, siteKey, timeout, telemetry }: VigilProviderProps): ReactNode {
  const [holder] = useState(() => new ClientHolder())
  const [ready, setReady] = useState(false)
  useEffect(() => {
    const client = init({ siteKey, ...(endpoint !== undefined ? { endpoint } : {}), ...(timeout !== undefined ? { timeout } : {}), ...(telemetry !== undefined ? { telemetry } : {}) })
    holder.set(client)
    setReady(true)
    return () => {
      holder.clear(client)
      client.destroy()
      setReady(false)
    }
  }, [holder, endpoint, siteKey, timeout, telemetry])
  const value = useMemo<UseVigil>(
    () => ({
      getToken: (action, options) => holder.getToken(action, options, timeout ?? DEFAULT_TIMEOUT_MS),
      ready,
    }),
    [holder, ready, timeout],
  )
  return createElement(VigilContext.Provider, { value }, children)
}

const outside: UseVigil = {
  getToken: () => Promise.reject(new VigilError('config_error', 'useVigil() was called outside a <VigilProvider>')),
  ready: false,
}

export function useVigil(): UseVigil {
  return useContext(VigilContext) ?? outside
}

export { VigilError } from './errors'
export type { VigilErrorCode } from './errors'
export type { GetTokenOptions } from './client'
