import type { ConformanceAdapter } from '../adapter.js';
import { firewalldAdapter } from './firewalld.js';
import { iptablesAdapter } from './iptables.js';
import { nftablesAdapter } from './nftables.js';

/** Every backend the conformance suite judges; a new backend adds its adapter here. */
export const ADAPTERS: readonly ConformanceAdapter[] = [nftablesAdapter, iptablesAdapter, firewalldAdapter];
