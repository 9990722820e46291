#!/usr/bin/env node
import { run } from './program.js'

// A closed pipe (`… | head`) is not an error of ours: stop quietly.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
  throw err
})

process.exitCode = await run(process.argv.slice(2))
