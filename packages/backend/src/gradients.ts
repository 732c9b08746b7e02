// Makes sure TensorFlow.js gradients are registered whichever entry point a user imported.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

// tfjs-core's Node (CommonJS) build registers no gradients and its ESM build cannot be imported by Node
// (extensionless specifiers). @tensorflow/tfjs's Node bundle carries the gradient registrations and writes
// them into the process-wide registry that every copy of tfjs-core reads.
require('@tensorflow/tfjs');
