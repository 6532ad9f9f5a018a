/** CLI entry: run the command line and exit with its code (built as out/main/cli.js). */
import { main } from './main'

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`ird-studio: ${(e as Error).stack ?? String(e)}\n`)
    process.exit(1)
  }
)
