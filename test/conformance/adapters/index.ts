import type { ConformanceAdapter } from '../adapter.js';
import { firewalldAdapter } from './firewalld.js';
import { iptablesAdapter } from './iptables.js';
import { nftablesAdapter } from './nftables.js';
import { ufwAdapter } from './ufw.js';

/** Every backend the conformance suite judges; a new backend adds its adapter here. */
export const ADAPTERS: readonly ConformanceAdapter[] = [nftablesAdapter, iptablesAdapter, firewalldAdapter, ufwAdapter];
