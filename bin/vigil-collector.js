#!/usr/bin/env node
import '../dist/collector/main.js'
