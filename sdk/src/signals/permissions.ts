/**
 * Notification permission as two APIs report it. They agree in real browsers
 * ('default' ↔ 'prompt'); headless builds and evasion scripts make them disagree.
 */
import type { PermissionsSignal } from '@vigil-risk/core/protocol/signals'

export async function getPermissions(): Promise<PermissionsSignal> {
  const notification = typeof Notification !== 'undefined' ? Notification.permission : null
  let query: string | null = null
  if (navigator.permissions?.query) {
    try {
      query = (await navigator.permissions.query({ name: 'notifications' })).state
    } catch {
      // Some browsers do not know this permission name: nothing to compare.
    }
  }
  return { notification, query }
}
