// How a benchmark process runs: its servers are killed on any exit (SIGINT and SIGTERM too), a
// failure prints its stack and sets exit code 1, and `finish` runs at the end either way.

export async function runBench(name: string, main: () => Promise<void>, killNow: () => void, finish: () => void | Promise<void> = killNow): Promise<void> {
  process.on('exit', killNow);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      killNow();
      process.exit(130);
    });
  }
  try {
    await main();
  } catch (err) {
    process.stderr.write(`${name}: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
  } finally {
    await finish();
  }
}
