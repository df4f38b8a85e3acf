import { execute } from '@oclif/core/execute';

/** Entry point: `dir` is where oclif finds package.json (the package root). */
export async function main(dir: string): Promise<void> {
  await execute({ dir });
}
