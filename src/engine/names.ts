// Docker container names and ids: `/name` form, validation, generated adjective_surname names, Docker's error texts.
import { randomBytes, randomInt } from 'node:crypto';
import { BerthError, errConflict, errInvalid, errNotFound } from '../common/errors.js';

/** Docker's name rule (moby `RestrictedNamePattern`), with the optional leading slash. */
const NAME_RE = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

const ADJECTIVES = [
  'agile', 'bold', 'brave', 'bright', 'calm', 'clever', 'cool', 'crisp', 'daring', 'eager', 'fair', 'fancy', 'fervent',
  'gentle', 'glad', 'happy', 'hardy', 'jolly', 'keen', 'kind', 'lively', 'lucid', 'merry', 'modest', 'nimble', 'noble',
  'patient', 'placid', 'proud', 'quiet', 'quick', 'rapid', 'sharp', 'shy', 'snug', 'steady', 'sturdy', 'swift',
  'tender', 'tidy', 'upbeat', 'vivid', 'warm', 'wise', 'witty', 'zealous',
];

/** Navigators, shipwrights and harbour engineers (a berth is where ships dock). */
const SURNAMES = [
  'amundsen', 'baffin', 'bering', 'brunel', 'cabot', 'cartier', 'cheng', 'columbus', 'cook', 'dampier', 'drake', 'earhart',
  'ericson', 'flinders', 'franklin', 'frobisher', 'gama', 'hudson', 'ibnbattuta', 'magellan', 'mawson', 'nansen',
  'norgay', 'peary', 'polo', 'raleigh', 'ross', 'scott', 'shackleton', 'tasman', 'vancouver', 'vespucci', 'zheng',
  'bougainville', 'humboldt', 'kupe', 'parry', 'heyerdahl', 'bly', 'slocum', 'fogg', 'ahab', 'nemo',
];

/** A random adjective_surname; with `retry` > 0 a digit is appended, as Docker does after a collision. */
export function generateName(retry = 0): string {
  const n = `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${SURNAMES[randomInt(SURNAMES.length)]}`;
  return retry > 0 ? `${n}${randomInt(10)}` : n;
}

/** Validate a user-given name; returns it in `/name` form. */
export function normalizeName(name: string): string {
  if (!NAME_RE.test(name)) throw errInvalid(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  return name.startsWith('/') ? name : `/${name}`;
}

/** A new container id: 64 hex chars whose 12-char short form is not all digits (Docker avoids those: they read as numbers). */
export function newContainerId(): string {
  for (;;) {
    const id = randomBytes(32).toString('hex');
    if (!/^\d+$/.test(id.slice(0, 12))) return id;
  }
}

export function noSuchContainer(ref: string, cause?: unknown): BerthError {
  return errNotFound(`No such container: ${ref}`, cause);
}

export function nameInUse(name: string, id: string): BerthError {
  return errConflict(`Conflict. The container name "${name}" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`);
}

/**
 * Resolve `ref` among `all` as dockerd does: exact id, then exact name (with or without the
 * leading slash), then a unique id prefix. Ambiguous prefixes are an error, as Docker's truncindex.
 */
export function resolveRef<T extends { id: string; name: string }>(all: Iterable<T>, ref: string): T {
  if (!ref) throw noSuchContainer(ref);
  const list = [...all];
  const byId = list.find((c) => c.id === ref);
  if (byId) return byId;
  const name = ref.startsWith('/') ? ref : `/${ref}`;
  const byName = list.find((c) => c.name === name);
  if (byName) return byName;
  if (/^[0-9a-f]+$/.test(ref)) {
    const hits = list.filter((c) => c.id.startsWith(ref));
    if (hits.length === 1) return hits[0]!;
    if (hits.length > 1) throw errInvalid(`Multiple IDs found with provided prefix: ${ref}`);
  }
  throw noSuchContainer(ref);
}
