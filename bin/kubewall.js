#!/usr/bin/env node
import { runMain } from '../dist/src/cli/cli.js';

await runMain();
