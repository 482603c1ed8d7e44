import { api } from './api';
import type { Directory, DirectoryEntry } from './types';

let cached: Promise<DirectoryEntry[]> | null = null;

/** The organization's active people (no emails), for pickers; asked once per page load. */
export function directory(): Promise<DirectoryEntry[]> {
  cached ??= api.get<Directory>('/api/v1/directory').then((answer) => answer.users.sort((a, b) => a.name.localeCompare(b.name)));
  cached.catch(() => (cached = null));
  return cached;
}

export function forgetDirectory(): void {
  cached = null;
}
