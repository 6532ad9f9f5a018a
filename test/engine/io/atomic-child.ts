/**
 * Child process for atomic.test.ts: rewrites a file (or a folder of two files) forever with 32 MiB of
 * one repeated byte, so the parent can SIGKILL it mid-write and check what is left under the final name.
 */
import { join } from 'node:path'
import { writeFileAtomic, writeFolderAtomicSync } from '../../../src/engine/io/atomic'

const [mode, target] = process.argv.slice(2)
const data = Buffer.alloc(32 << 20)
process.stdout.write('ready\n')
for (let i = 1; ; i++) {
  data.fill(i & 0xff)
  if (mode === 'file') writeFileAtomic(target, data)
  else {
    writeFolderAtomicSync(
      target,
      (tmp) => {
        writeFileAtomic(join(tmp, 'a.bin'), data)
        writeFileAtomic(join(tmp, 'b.bin'), data)
      },
      { overwrite: true }
    )
  }
}
