/**
 * The SQLite schema, as numbered migrations (PRAGMA user_version is the number applied).
 * Append, never edit: a data directory created by an older collector migrates forward.
 * docs/operations.md documents the resulting schema for analysts.
 */
import type Database from 'better-sqlite3'

const MIGRATIONS: string[] = [
  `CREATE TABLE nonces (
     id TEXT PRIMARY KEY,
     expires_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX nonces_expires_at ON nonces (expires_at);

   CREATE TABLE devices (
     device_id TEXT PRIMARY KEY,
     public_key TEXT NOT NULL,
     key_impl TEXT NOT NULL,
     visitor_id TEXT,
     last_ip TEXT,
     first_seen INTEGER NOT NULL,
     last_seen INTEGER NOT NULL,
     seen_count INTEGER NOT NULL
   ) WITHOUT ROWID;

   CREATE TABLE events (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     at INTEGER NOT NULL,
     site_key TEXT NOT NULL,
     action TEXT NOT NULL,
     device_id TEXT NOT NULL,
     visitor_id TEXT,
     ip TEXT NOT NULL,
     hostname TEXT NOT NULL,
     verdict TEXT NOT NULL,
     score REAL NOT NULL,
     reasons TEXT NOT NULL,
     key_impl TEXT NOT NULL,
     sdk TEXT NOT NULL,
     detail TEXT NOT NULL
   );
   CREATE INDEX events_at ON events (at);
   CREATE INDEX events_device ON events (device_id, at);`,
  `ALTER TABLE events ADD COLUMN account TEXT;
   CREATE INDEX events_account ON events (account, at);

   CREATE TABLE links (
     kind TEXT NOT NULL,
     key TEXT NOT NULL,
     member TEXT NOT NULL,
     at INTEGER NOT NULL,
     PRIMARY KEY (kind, key, member)
   ) WITHOUT ROWID;
   CREATE INDEX links_at ON links (at);

   CREATE TABLE rate_limits (
     key TEXT PRIMARY KEY,
     window_start INTEGER NOT NULL,
     count INTEGER NOT NULL
   ) WITHOUT ROWID;`,
  `CREATE TABLE stats (
     site_key TEXT NOT NULL,
     minute INTEGER NOT NULL,
     field TEXT NOT NULL,
     count INTEGER NOT NULL,
     PRIMARY KEY (site_key, minute, field)
   ) WITHOUT ROWID;`,
  // The dashboard's "top devices": the most accounts a device was seen with, over its
  // current run of activity (reset after a day without events), as the Redis store keeps it.
  `CREATE TABLE stats_devices (
     site_key TEXT NOT NULL,
     device_id TEXT NOT NULL,
     accounts INTEGER NOT NULL,
     at INTEGER NOT NULL,
     PRIMARY KEY (site_key, device_id)
   ) WITHOUT ROWID;
   CREATE INDEX stats_devices_top ON stats_devices (site_key, accounts DESC, device_id);`,
  // Device reputation (verdicts so far) and the text metrics its probes answered.
  `ALTER TABLE devices ADD COLUMN allowed INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE devices ADD COLUMN denied INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE devices ADD COLUMN last_verdict TEXT;
   CREATE TABLE device_glyphs (
     device_id TEXT NOT NULL,
     glyph TEXT NOT NULL,
     width REAL NOT NULL,
     PRIMARY KEY (device_id, glyph)
   ) WITHOUT ROWID;`,
  // App Attest keys Apple certified, with the last assertion counter seen .
  `CREATE TABLE attested_keys (
     key_id TEXT PRIMARY KEY,
     app_id TEXT NOT NULL,
     public_key TEXT NOT NULL,
     counter INTEGER NOT NULL,
     attested_at INTEGER NOT NULL,
     last_seen INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX attested_keys_last_seen ON attested_keys (last_seen);`,
  // Retention: devices not seen for the retention period are purged by last sighting.
  `CREATE INDEX devices_last_seen ON devices (last_seen);`,
  // Link counts read the members of one key seen since a time: a range of this index, capped.
  `CREATE INDEX links_key_at ON links (kind, key, at);`,
]

export function migrate(db: Database.Database): void {
  // IMMEDIATE takes the write lock first, so two collectors starting together migrate once.
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number
    for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!)
    if (version < MIGRATIONS.length) db.pragma(`user_version = ${MIGRATIONS.length}`)
  }).immediate()
}
