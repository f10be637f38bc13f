import { chmodSync, linkSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'

/**
 * Creates `path` with `contents` unless it already exists, atomically: the file is
 * written in full under a temporary name, then hard-linked into place (link fails
 * if the name is taken). Two collectors starting at once on one data directory
 * therefore agree on a single file instead of each writing its own.
 * Returns the contents that are in place afterwards.
 */
export function createOnce(path: string, contents: () => string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const tmp = join(dirname(path), `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`)
  writeFileSync(tmp, contents(), { mode: 0o600 })
  try {
    linkSync(tmp, path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  } finally {
    unlinkSync(tmp)
  }
  return readFileSync(path, 'utf8')
}

/** Replaces `path` atomically (write to a temporary file, then rename over it). */
export function replaceFile(path: string, contents: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const tmp = join(dirname(path), `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`)
  writeFileSync(tmp, contents, { mode: 0o600 })
  renameSync(tmp, path)
}

/**
 * Creates the data directory owner-only (0700), or tightens it when it exists: it holds
 * the signing keys, the site credentials and, by default, the database. Returns true when
 * an existing directory had to be tightened (the caller says so in its log).
 */
export function securePrivateDirectory(dir: string): boolean {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  if ((statSync(dir).mode & 0o077) === 0) return false
  chmodSync(dir, 0o700)
  return true
}
