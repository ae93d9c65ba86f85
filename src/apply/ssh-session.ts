import { showValue } from '../text/terminal.js';
import ipaddr from 'ipaddr.js';
import { ipVersion } from '../addresses.js';
import { KubewallError } from '../errors.js';
import { isAddressPeerClass } from '../model.js';
import type { Plan, PlanRule } from '../plan/types.js';

/** The SSH session kubewall runs in, from sshd's `SSH_CONNECTION`. */
export interface SshSession {
  /** The client's address, IPv4-mapped IPv6 unwrapped and any zone id dropped. */
  readonly clientAddress: string;
  readonly clientPort: number;
  readonly serverAddress: string;
  /** The port the client connected to: sshd's port, whatever the plan calls it. */
  readonly serverPort: number;
}

/** Whether a new connection like this session's would be accepted by the plan. */
export type SshSessionVerdict =
  | { readonly kind: 'kept'; readonly session: SshSession; readonly reason: string }
  | { readonly kind: 'dropped'; readonly session: SshSession };

function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const withoutZone = text.replace(/%[\w.-]+$/, '');
  // sshd on a dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d; the plan's sets hold them as IPv4.
  return ipVersion(withoutZone) === 0 ? undefined : ipaddr.process(withoutZone);
}

function parsePort(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/**
 * Parses `SSH_CONNECTION` ("client-address client-port server-address
 * server-port"); undefined when unset or empty (not an SSH session).
 */
export function parseSshConnection(value: string | undefined): SshSession | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const fields = value.trim().split(/\s+/);
  const [client, clientPortText, server, serverPortText] = fields;
  const clientAddress = client === undefined ? undefined : parseAddress(client);
  const serverAddress = server === undefined ? undefined : parseAddress(server);
  const clientPort = parsePort(clientPortText);
  const serverPort = parsePort(serverPortText);
  if (fields.length !== 4 || !clientAddress || !serverAddress || clientPort === undefined || serverPort === undefined) {
    throw new KubewallError(
      'USAGE',
      `SSH_CONNECTION: cannot read ${showValue(value)} (expected "client-address client-port server-address server-port", e.g. "10.99.0.5 50122 10.10.0.11 22", as sshd sets it)`,
    );
  }
  return { clientAddress: clientAddress.toString(), clientPort, serverAddress: serverAddress.toString(), serverPort };
}

function coversPort(rule: PlanRule, port: number): boolean {
  return rule.protocol === 'tcp' && rule.ports.some((range) => range.from <= port && port <= range.to);
}

function inElement(address: ipaddr.IPv4 | ipaddr.IPv6, element: string): boolean {
  const [base, prefix] = element.includes('/') ? ipaddr.parseCIDR(element) : [ipaddr.parse(element), address.kind() === 'ipv4' ? 32 : 128];
  return base.kind() === address.kind() && address.match(base, prefix);
}

/**
 * Pure: would the plan accept a new TCP connection from the session's client
 * to the session's server port? The running session itself usually survives
 * (established connections are accepted), but a reconnect, or `kubewall
 * confirm` from a second shell, would not.
 */
export function checkSshSession(plan: Plan, session: SshSession): SshSessionVerdict {
  const client = ipaddr.parse(session.clientAddress);
  const family = client.kind() === 'ipv4' ? 'ipv4' : 'ipv6';
  if (client.range() === 'loopback') return { kind: 'kept', session, reason: 'loopback traffic is accepted (baseline)' };
  for (const rule of plan.rules) {
    if (rule.action !== 'accept' || !coversPort(rule, session.serverPort)) continue;
    if (rule.peer === 'any') return { kind: 'kept', session, reason: `rule ${rule.id} accepts everyone` };
    if (!isAddressPeerClass(rule.peer)) continue;
    const set = plan.sets.find((s) => s.peer === rule.peer && s.family === family);
    const element = set?.elements.find((e) => inElement(client, e));
    if (set && element !== undefined) {
      return { kind: 'kept', session, reason: `rule ${rule.id} accepts ${rule.peer} (${element} in ${set.name})` };
    }
  }
  return { kind: 'dropped', session };
}

/** The refusal, naming the session, the port and the ways out. */
export function describeDroppedSession(session: SshSession, plan: Plan, from = 'the environment'): string {
  const sshRule = plan.ssh.enabled ? `SSH on port ${plan.ssh.port} is open to the admin class only` : 'the plan has no SSH rule (ssh.enabled: false)';
  return (
    `refusing to apply: this plan would drop new SSH connections from ${session.clientAddress} to port ${session.serverPort}, ` +
    `the session kubewall runs in (SSH_CONNECTION in ${from}); ${sshRule}. You could not reconnect, nor run kubewall confirm from a second shell. ` +
    `Add ${session.clientAddress} (or its network) to adminNetworks in the cluster file` +
    (plan.ssh.enabled && plan.ssh.port !== session.serverPort ? `, set ssh.port to ${session.serverPort}` : '') +
    `, or pass --allow-dropping-ssh-session if you have console access`
  );
}
