import type { ConformanceAdapter } from '../adapter.js';
import { nftablesAdapter } from './nftables.js';

/** Every backend the conformance suite judges; a new backend adds its adapter here. */
export const ADAPTERS: readonly ConformanceAdapter[] = [nftablesAdapter];
