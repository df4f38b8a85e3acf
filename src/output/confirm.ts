/** Ask a yes/no question on the terminal (stderr, so stdout stays the result); only "y" or "yes" is yes. */
export async function askYesNo(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const a = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(a.trim());
  } finally {
    rl.close();
  }
}
