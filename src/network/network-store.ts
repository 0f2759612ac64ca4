// The networks table: one row per network in the engine's metadata.db, each write one transaction.
import type Database from 'better-sqlite3';
import { errAlreadyExists, errNotFound } from '../common/errors.js';

/** A network as Berth keeps it; the wire shape is made by toWire in networks.ts. */
export interface NetworkRecord {
  id: string;
  name: string;
  /** Docker's driver names: `bridge`, and the predefined `host` and `null`. */
  driver: 'bridge' | 'host' | 'null';
  created: string;
  internal: boolean;
  attachable: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  /** The predefined networks (bridge, host, none) cannot be removed. */
  builtin: boolean;
  /** bridge driver: the Linux bridge, the IPv4 subnet and gateway, the IPAM range, masquerade. */
  bridge?: string;
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  ipMasq?: boolean;
  /** Whether the user gave the subnet (Docker shows IPAM.Config either way). */
  userSubnet?: boolean;
  /** False when the user gave the subnet but not the gateway: Docker's IPAM.Config then shows the subnet alone. */
  userGateway?: boolean;
}

type Row = { id: string; name: string; data: string };

export class NetworkStore {
  constructor(private readonly db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS engine_networks (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        data TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS engine_network_removals (
        id TEXT PRIMARY KEY,
        data TEXT NOT NULL
      );
    `);
  }

  list(): NetworkRecord[] {
    return (this.db.prepare('SELECT * FROM engine_networks ORDER BY name').all() as Row[]).map((r) => JSON.parse(r.data) as NetworkRecord);
  }

  find(id: string): NetworkRecord | undefined {
    const r = this.db.prepare('SELECT * FROM engine_networks WHERE id = ?').get(id) as Row | undefined;
    return r ? JSON.parse(r.data) as NetworkRecord : undefined;
  }

  /** Docker's lookup order: full id, exact name, then a unique id prefix. */
  resolve(ref: string): NetworkRecord {
    const all = this.list();
    const hit = all.find((n) => n.id === ref) ?? all.find((n) => n.name === ref);
    if (hit) return hit;
    const byPrefix = ref ? all.filter((n) => n.id.startsWith(ref)) : [];
    if (byPrefix.length === 1) return byPrefix[0]!;
    throw errNotFound(`network ${ref} not found`);
  }

  insert(n: NetworkRecord): void {
    this.db.transaction(() => {
      if (this.db.prepare('SELECT 1 FROM engine_networks WHERE name = ?').get(n.name)) throw errAlreadyExists(`network with name ${n.name} already exists`);
      this.db.prepare('INSERT INTO engine_networks (id, name, data) VALUES (?, ?, ?)').run(n.id, n.name, JSON.stringify(n));
    }).immediate();
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM engine_networks WHERE id = ?').run(id);
  }

  /**
   * Delete a network's row and note, in the same transaction, that its bridge, leases and DNS
   * are to be removed: a crash before `removed(id)` leaves the note for the next open.
   */
  deleteForRemoval(n: NetworkRecord): void {
    this.db.transaction(() => {
      this.db.prepare('INSERT OR REPLACE INTO engine_network_removals (id, data) VALUES (?, ?)').run(n.id, JSON.stringify(n));
      this.db.prepare('DELETE FROM engine_networks WHERE id = ?').run(n.id);
    }).immediate();
  }

  /** Networks deleted whose host side may not be cleaned up yet. */
  pendingRemovals(): NetworkRecord[] {
    return (this.db.prepare('SELECT data FROM engine_network_removals').all() as Array<{ data: string }>).map((r) => JSON.parse(r.data) as NetworkRecord);
  }

  removed(id: string): void {
    this.db.prepare('DELETE FROM engine_network_removals WHERE id = ?').run(id);
  }
}
