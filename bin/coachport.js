#!/usr/bin/env node
// The compiled command line; `npm install` builds it through the `prepare` script. start.js checks
// the Node version before it loads anything native.
import '../dist/src/cli/start.js';
