// Registers, in Node.js, what @tensorflow/tfjs adds on top of tfjs-core — the gradient of every kernel and the
// chained tensor methods (x.sum(), …) — unless something has already (an application that imports
// @tensorflow/tfjs, or tfjs-node). tfjs-core's CommonJS build leaves both out and its ES module build cannot
// be imported by Node.js; ../vendor/tfjs-core-extras.cjs is those modules of tfjs-core bundled for Node.js
// (see ../scripts/vendor-tfjs-core.mjs for why, and how it is made). Browsers take ./browser.ts's path,
// which imports the same modules from tfjs-core through the application's bundler.
import { createRequire } from 'node:module';
import { getGradient } from '@tensorflow/tfjs-core';

const require = createRequire(import.meta.url);

// src/ and dist/ both lie one folder below the package root.
if (getGradient('Conv2D') === undefined) require('../vendor/tfjs-core-extras.cjs');
