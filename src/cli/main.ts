#!/usr/bin/env node
import { hostname } from 'node:os';
const x: number = 1;
console.log('hello', hostname(), x, process.version);
