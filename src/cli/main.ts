#!/usr/bin/env node
// The operator CLI's entry (package.json "bin": appgw-certbot); see program.ts and README "Command line".
import { run } from './program';

void run(process.argv).then((code) => {
  process.exitCode = code;
});
