/**
 * What kubewall owns under firewalld: the permanent zone `kubewall` and the
 * permanent ipsets `kubewall-*` (files under /etc/firewalld), and what
 * firewalld runs of them. Pure: which files are kubewall's, and what a
 * restore writes, removes and whether it must reload.
 */

/** The permanent configuration folder firewalld reads (ip netns exec bind-mounts /etc/netns/<ns>/firewalld over it). */
export const FIREWALLD_CONFIG_DIR = '/etc/firewalld';
export const FIREWALLD_ZONE = 'kubewall';

/** kubewall's files, relative to the config folder: its zone and its ipsets. */
export function isOwnedFirewalldFile(relative: string): boolean {
  return relative === `zones/${FIREWALLD_ZONE}.xml` || /^ipsets\/kubewall-[\w.-]+\.xml$/.test(relative);
}

export interface FirewalldSnapshot {
  readonly backend: 'firewalld';
  /** kubewall's permanent files (relative path → content); a file not listed did not exist. */
  readonly files: Readonly<Record<string, string>>;
  /** What firewalld ran of kubewall's zone and ipsets (firewall-cmd --info-*), or null when it was not running. */
  readonly runtime: string | null;
}

/** Pure: the file changes that give back the saved permanent configuration. */
export function firewalldFileChanges(saved: Readonly<Record<string, string>>, current: Readonly<Record<string, string>>): { write: [string, string][]; remove: string[] } {
  const write = Object.entries(saved).filter(([name, content]) => current[name] !== content).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const remove = Object.keys(current).filter((name) => !(name in saved)).sort();
  return { write, remove };
}

/**
 * Pure: reload only when firewalld runs something other than what was
 * saved. A reload is not free — firewalld before 2.0 flushes every iptables
 * table on each one — so an apply that failed before its own reload is undone
 * by the files alone.
 */
export function firewalldNeedsReload(saved: string | null, now: string | null): boolean {
  return now !== null && saved !== now;
}
