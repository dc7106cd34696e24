// Shared by the jsforce scripts: where the emulator is, and its clock.
//
// Environment (set by emulator/tests/test_jsforce.py):
//   SF_INSTANCE_URL      the emulator's base URL (https://127.0.0.1:PORT)
//   SF_ACCESS_TOKEN      an access token of the emulated org
//   SF_API_VERSION       the API version jsforce is told to use (e.g. "62.0")
//   NODE_EXTRA_CA_CERTS  the emulator's CA file: Node reads it at start-up, jsforce needs nothing
//
// jsforce is used exactly as an application would use it; only this file knows it talks to an
// emulator (the clock below).
import jsforce from 'jsforce';

export function settings() {
  const instanceUrl = process.env.SF_INSTANCE_URL;
  const accessToken = process.env.SF_ACCESS_TOKEN;
  if (!instanceUrl || !accessToken) {
    throw new Error('set SF_INSTANCE_URL and SF_ACCESS_TOKEN');
  }
  return { instanceUrl, accessToken, version: process.env.SF_API_VERSION || '62.0' };
}

export function connect() {
  const { instanceUrl, accessToken, version } = settings();
  return new jsforce.Connection({ instanceUrl, accessToken, version });
}

async function advanceClock(seconds) {
  const { instanceUrl } = settings();
  const response = await fetch(`${instanceUrl}/__emulator__/clock`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ advance_seconds: seconds }),
  });
  if (!response.ok) throw new Error(`clock: HTTP ${response.status}`);
}

// Bulk jobs advance on the emulator's clock. jsforce polls on real time (its pollInterval), so
// while a Bulk call runs, move the emulator's clock forward `seconds` every `everyMs`: org time
// passes ~25x faster than real time and a job finishes in a few polls instead of seconds.
export async function withFastClock(fn, { everyMs = 20, seconds = 0.5 } = {}) {
  let failure = null;
  const timer = setInterval(() => {
    advanceClock(seconds).catch((err) => { failure = err; });
  }, everyMs);
  try {
    const result = await fn();
    if (failure) throw failure;
    return result;
  } finally {
    clearInterval(timer);
  }
}

// One JSON object on stdout, read by the pytest driver; errors as {"error": {...}} with exit 1.
export async function report(main) {
  try {
    const result = await main();
    process.stdout.write(JSON.stringify(result) + '\n');
  } catch (err) {
    process.stdout.write(JSON.stringify({
      error: { name: err?.name, errorCode: err?.errorCode, message: err?.message, stack: err?.stack },
    }) + '\n');
    process.exitCode = 1;
  }
}

// A Salesforce error as jsforce reports it, for scripts that expect one.
export async function errorOf(promise) {
  try {
    await promise;
    return null;
  } catch (err) {
    return { name: err?.name, errorCode: err?.errorCode, message: err?.message };
  }
}
