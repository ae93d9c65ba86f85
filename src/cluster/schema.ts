import * as z from 'zod';
import { KUBE_PROXY_MODES } from '../model.js';
import { parsePortRange } from '../ports.js';
import {
  HostAddressSchema,
  IdSchema,
  NetworkSchema,
  OverrideSchema,
  ProfileSelectionSchema,
  RoleSchema,
} from '../input/schema-parts.js';

export const ClusterNodeSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$/, {
      message: 'invalid node name (expected a DNS-1123 name: lowercase letters, digits, "-" and ".")',
    }),
  addresses: z.array(HostAddressSchema).min(1).describe('The node\'s IPv4 and/or IPv6 addresses.'),
  roles: z.array(RoleSchema).min(1),
});

/** kube-apiserver's --service-node-port-range, as a number or "30000-32767". */
export const NodePortRangeSchema = z.union([z.number().int(), z.string()]).superRefine((value, ctx) => {
  const parsed = parsePortRange(value);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed, input: value });
});

export const ClusterSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: z.string().max(63).regex(/^[A-Za-z0-9._-]+$/, { message: 'invalid cluster name (expected letters, digits, ".", "_" and "-")' }).optional(),
    nodes: z.array(ClusterNodeSchema).optional().describe('Every node: its addresses form the control-plane, etcd and nodes peer sets.'),
    loadBalancers: z.array(NetworkSchema).optional().describe('Load balancer addresses (reach kube-proxy health checks; NodePorts when restricted).'),
    adminNetworks: z.array(NetworkSchema).optional().describe('Networks that may reach SSH.'),
    podCIDRs: z.array(NetworkSchema).optional().describe('The pod networks (the "pods" peer class).'),
    serviceCIDRs: z
      .array(NetworkSchema)
      .optional()
      .describe('The Service networks (kube-apiserver --service-cluster-ip-range). kubeProxy ipvs: traffic addressed to them is accepted on input (IPVS serves them locally).'),
    serviceExternalIPs: z
      .array(NetworkSchema)
      .optional()
      .describe('LoadBalancer ingress and externalIPs addresses of Services. kubeProxy ipvs binds them to kube-ipvs0: traffic addressed to them is accepted on input.'),
    kubeProxy: z
      .enum(KUBE_PROXY_MODES)
      .optional()
      .describe('kube-proxy mode: iptables (default, kubeadm), ipvs (kubespray), nftables, or none (an eBPF replacement: Cilium, Calico eBPF). --kube-proxy overrides it.'),
    nodePortRange: NodePortRangeSchema.optional()
      .describe('kube-apiserver --service-node-port-range (default "30000-32767"): the whole range is dropped except the NodePort ports the catalogue allows.'),
    nodeLocalDNS: HostAddressSchema.optional().describe(
      'The address NodeLocal DNSCache listens on, on every node (default 169.254.20.10, upstream\'s; kubespray uses 169.254.25.10). Used by the node-local-dns add-on.',
    ),
    ssh: z
      .strictObject({
        enabled: z.boolean().optional().describe('false: render no SSH rule, on purpose (console-only hosts).'),
        port: z.number().int().min(1).max(65535).optional(),
      })
      .optional(),
    profiles: ProfileSelectionSchema.optional(),
    overrides: z.record(IdSchema, OverrideSchema).optional(),
  })
  .describe('A kubewall cluster description.');

export type ClusterInput = z.infer<typeof ClusterSchema>;
export type ClusterNodeInput = z.infer<typeof ClusterNodeSchema>;
